package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/go-pdf/fpdf"
)

// receiptPDFRows is how many results a PDF receipt lists; the rest are counted, and the JSON
// receipt has them all. A few hundred rows keep the file printable for a credentialing file.
const receiptPDFRows = 500

// renderVerificationReceipt returns a verification receipt as a PDF: who verified what and
// when, the issuer's statement, the results table, and the IDs and digests that match it to
// the signed receipt JWT.
func renderVerificationReceipt(v orgVerificationResponse, results []verificationResult) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "Letter", "")
	pdf.SetCreationDate(v.CreatedAt)
	pdf.SetModificationDate(v.CreatedAt)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("Verification receipt "+v.ID.String(), true)
	pdf.SetAuthor(IssuerName, true)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252, the core fonts' encoding

	pdf.SetFont("Helvetica", "B", 18)
	pdf.CellFormat(0, 10, "Credential verification receipt", "", 1, "L", false, 0, "")
	pdf.Ln(2)
	jwtSum := sha256.Sum256([]byte(v.Receipt))
	by := v.Verifier.Name + " (user " + v.Verifier.ID.String() + ")"
	if v.Verifier.Type == "api_key" {
		by = v.Verifier.Name + " (API key " + v.Verifier.ID.String() + ")"
	}
	for _, row := range [][2]string{
		{"Organization", v.Org.Name},
		{"Verified by", by},
		{"Time (UTC)", v.CreatedAt.UTC().Format("January 2, 2006 15:04:05")},
		{"Receipt ID", v.ID.String()},
		{"Items", fmt.Sprintf("%d (%d by NPI)", v.ItemCount, v.NPICount)},
		{"Results SHA-256", v.ResultsSHA256},
		{"Receipt JWT SHA-256", hex.EncodeToString(jwtSum[:])},
	} {
		pdf.SetFont("Helvetica", "B", 9)
		pdf.CellFormat(38, 5, row[0], "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(0, 5, tr(row[1]), "", 1, "L", false, 0, "")
	}
	pdf.Ln(3)
	pdf.SetFont("Helvetica", "I", 9)
	pdf.MultiCell(0, 5, tr(v.Statement+" The signed receipt (a JWT whose key is published at /.well-known/jwks.json) is kept by the issuer under the receipt ID above."), "", "L", false)
	pdf.Ln(3)

	widths := []float64{10, 44, 20, 44, 14, 32, 22}
	head := func() {
		pdf.SetFont("Helvetica", "B", 8)
		pdf.SetFillColor(235, 235, 235)
		for i, h := range []string{"#", "Query", "Status", "Holder", "Course", "Code", "Valid through"} {
			pdf.CellFormat(widths[i], 6, h, "B", 0, "L", true, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont("Helvetica", "", 8)
	}
	head()
	for i, r := range results {
		if i == receiptPDFRows {
			break
		}
		if pdf.GetY() > 260 {
			pdf.AddPage()
			head()
		}
		query := deref(r.Query.Code)
		if r.Query.NPI != nil {
			query = "NPI " + *r.Query.NPI + " " + deref(r.Query.Course)
		}
		row := []string{strconv.Itoa(r.Index + 1), query, "not found", "", "", "", ""}
		if r.Found {
			row = []string{row[0], query, r.Status, r.HolderName, r.Course, r.Code, r.ValidThrough}
		}
		for j, cell := range row {
			pdf.CellFormat(widths[j], 5, clipText(pdf, tr(cell), widths[j]-1), "", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
	}
	if len(results) > receiptPDFRows {
		pdf.Ln(2)
		pdf.SetFont("Helvetica", "I", 9)
		pdf.MultiCell(0, 5, fmt.Sprintf("The first %d of %d results are listed; the JSON receipt holds them all.", receiptPDFRows, len(results)), "", "L", false)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("render verification receipt %s: %w", v.ID, err)
	}
	return b.Bytes(), nil
}

// clipText shortens s to fit width at the current font, so a long name stays in its column.
func clipText(pdf *fpdf.Fpdf, s string, width float64) string {
	for len(s) > 1 && pdf.GetStringWidth(s) > width {
		s = s[:len(s)-1]
	}
	return s
}
