package credential

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/qr"
	"github.com/go-pdf/fpdf"
)

// DejaVu Sans Condensed covers Latin, Greek and Cyrillic: the core PDF fonts know only
// cp1252, which would print many holders' names wrong. See fonts/LICENSE.
var (
	//go:embed fonts/DejaVuSansCondensed.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSansCondensed-Bold.ttf
	fontBold []byte
)

// certFont is the family name the embedded fonts are registered under.
const certFont = "DejaVu"

// CertificateData is what a certificate shows: plain data, so the PDF needs no database.
type CertificateData struct {
	IssuerName       string // e.g. "aalscert"
	HolderName       string
	CourseTitle      string
	Edition          string
	GuidelineEdition string
	IssuedOn         Date
	ValidThrough     Date
	CECredits        *float64 // nil: no CE credits are printed
	CEApprovalCode   string
	CEApprovingBody  string
	Exam             string // what exam was assessed, e.g. "online unproctored exam"
	// SkillsInstructor and SkillsOrg name the hands-on skills check; empty for a course
	// without one.
	SkillsInstructor string
	SkillsOrg        string
	Accreditation    string // the program's accreditation statement, printed small
	Code             string // the verification code
	VerifyURL        string // the verification page the QR code opens
	// Note is an optional line under the facts, e.g. that the certificate replaces an
	// earlier one.
	Note string
}

// qrModulePixels is the size of one QR module in the embedded image; the PDF scales the
// image, so this only needs to be large enough for PNG edges to stay sharp.
const qrModulePixels = 8

// qrQuietZone is the light border around a QR code, in modules, that scanners need.
const qrQuietZone = 4

// Certificate renders the one-page PDF certificate. Its bytes depend only on d: the
// document dates are the issue date and nothing random is embedded, so the same data gives
// the same file.
func Certificate(d CertificateData) ([]byte, error) {
	return renderCertificate(d, true)
}

// renderCertificate renders d; compress false leaves page content readable, for tests.
func renderCertificate(d CertificateData, compress bool) ([]byte, error) {
	if d.HolderName == "" || d.Code == "" || d.VerifyURL == "" {
		return nil, errors.New("render certificate: holder name, code and verification URL are required")
	}
	qrPNG, err := VerifyQRPNG(d.VerifyURL)
	if err != nil {
		return nil, err
	}
	pdf := fpdf.New("L", "mm", "Letter", "")
	pdf.SetCompression(compress)
	issued := d.IssuedOn.Time()
	pdf.SetCreationDate(issued)
	pdf.SetModificationDate(issued)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(d.CourseTitle+" certificate "+d.Code, true)
	pdf.SetAuthor(d.IssuerName, true)
	pdf.AddUTF8FontFromBytes(certFont, "", fontRegular)
	pdf.AddUTF8FontFromBytes(certFont, "B", fontBold)
	pdf.SetMargins(20, 18, 20)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	certFrame(pdf)
	certHeading(pdf, d)
	certFacts(pdf, d)
	certVerification(pdf, d, qrPNG)
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("render certificate %s: %w", d.Code, err)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("render certificate %s: %w", d.Code, err)
	}
	return b.Bytes(), nil
}

func certFrame(pdf *fpdf.Fpdf) {
	w, h := pdf.GetPageSize()
	pdf.SetDrawColor(150, 20, 30)
	pdf.SetLineWidth(1.2)
	pdf.Rect(8, 8, w-16, h-16, "D")
	pdf.SetLineWidth(0.3)
	pdf.Rect(11, 11, w-22, h-22, "D")
}

func certHeading(pdf *fpdf.Fpdf, d CertificateData) {
	pdf.SetY(30)
	pdf.SetTextColor(90, 90, 90)
	pdf.SetFont(certFont, "", 11)
	pdf.CellFormat(0, 6, strings.ToUpper(d.IssuerName)+" · CERTIFICATE", "", 1, "C", false, 0, "")
	pdf.Ln(8)
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont(certFont, "", 12)
	pdf.CellFormat(0, 6, "This certifies that", "", 1, "C", false, 0, "")
	pdf.Ln(2)
	fitCell(pdf, "B", 30, 14, d.HolderName)
	pdf.Ln(2)
	pdf.SetFont(certFont, "", 12)
	pdf.CellFormat(0, 6, "has met every requirement of", "", 1, "C", false, 0, "")
	pdf.Ln(2)
	fitCell(pdf, "B", 20, 10, d.CourseTitle)
	pdf.SetFont(certFont, "", 11)
	var sub []string
	if d.Edition != "" {
		sub = append(sub, d.Edition+" edition")
	}
	if d.GuidelineEdition != "" {
		sub = append(sub, "guidelines "+d.GuidelineEdition)
	}
	pdf.CellFormat(0, 6, strings.Join(sub, " · "), "", 1, "C", false, 0, "")
	pdf.Ln(9)
}

// fitCell writes one centred line in the bold or regular font, shrinking the size from max
// until the text fits the line: a long name shrinks rather than running off the page.
func fitCell(pdf *fpdf.Fpdf, style string, max, h float64, text string) {
	left, _, right, _ := pdf.GetMargins()
	w, _ := pdf.GetPageSize()
	size := max
	pdf.SetFont(certFont, style, size)
	for pdf.GetStringWidth(text) > w-left-right && size > 8 {
		size -= 0.5
		pdf.SetFontSize(size)
	}
	pdf.CellFormat(0, h, text, "", 1, "C", false, 0, "")
}

func certFacts(pdf *fpdf.Fpdf, d CertificateData) {
	rows := [][2]string{
		{"Issued", longDate(d.IssuedOn)},
		{"Valid through", longDate(d.ValidThrough)},
	}
	if d.CECredits != nil {
		ce := strconv.FormatFloat(*d.CECredits, 'f', -1, 64) + " CE credits"
		if d.CEApprovalCode != "" {
			ce += ", approval code " + d.CEApprovalCode
		}
		if d.CEApprovingBody != "" {
			ce += " (" + d.CEApprovingBody + ")"
		}
		rows = append(rows, [2]string{"Continuing education", ce})
	}
	rows = append(rows, [2]string{"Assessed by", capitalize(d.Exam)})
	if d.SkillsInstructor != "" {
		skills := "Hands-on skills check with instructor " + d.SkillsInstructor
		if d.SkillsOrg != "" {
			skills += ", " + d.SkillsOrg
		}
		rows = append(rows, [2]string{"", skills})
	}
	const labelW, valueW = 55.0, 140.0
	w, _ := pdf.GetPageSize()
	x := (w - labelW - valueW) / 2
	for _, r := range rows {
		pdf.SetX(x)
		pdf.SetFont(certFont, "B", 11)
		pdf.CellFormat(labelW, 6.5, r[0], "", 0, "R", false, 0, "")
		pdf.SetFont(certFont, "", 11)
		pdf.CellFormat(valueW, 6.5, "   "+r[1], "", 1, "L", false, 0, "")
	}
	if d.Note != "" {
		pdf.Ln(2)
		pdf.SetFont(certFont, "", 10)
		pdf.CellFormat(0, 6, d.Note, "", 1, "C", false, 0, "")
	}
	if d.Accreditation != "" {
		pdf.Ln(2)
		pdf.SetTextColor(90, 90, 90)
		pdf.SetFont(certFont, "", 8.5)
		left, _, right, _ := pdf.GetMargins()
		pdf.SetX(left + 20)
		pdf.MultiCell(w-left-right-40, 4.2, d.Accreditation, "", "C", false)
		pdf.SetTextColor(0, 0, 0)
	}
}

func certVerification(pdf *fpdf.Fpdf, d CertificateData, qrPNG []byte) {
	const size = 38.0
	w, h := pdf.GetPageSize()
	top := h - 20 - size
	opts := fpdf.ImageOptions{ImageType: "PNG", ReadDpi: false}
	pdf.RegisterImageOptionsReader("verify-qr", opts, bytes.NewReader(qrPNG))
	pdf.ImageOptions("verify-qr", w-20-size, top, size, size, false, opts, 0, d.VerifyURL)
	pdf.SetXY(22, top+8)
	pdf.SetFont(certFont, "", 10)
	pdf.CellFormat(0, 5, "Verification code", "", 1, "L", false, 0, "")
	pdf.SetX(22)
	pdf.SetFont(certFont, "B", 16)
	pdf.CellFormat(0, 8, d.Code, "", 1, "L", false, 0, "")
	pdf.SetX(22)
	pdf.SetFont(certFont, "", 10)
	pdf.CellFormat(0, 5, "Check this certificate's current status at", "", 1, "L", false, 0, "")
	pdf.SetX(22)
	pdf.SetTextColor(20, 60, 150)
	pdf.CellFormat(w-44-size-4, 5, d.VerifyURL, "", 1, "L", false, 0, d.VerifyURL)
	pdf.SetTextColor(0, 0, 0)
}

// VerifyQR returns the QR code of url as a grayscale image with px pixels per module and
// the quiet zone scanners need around it. Medium error correction lets a printed code that
// is creased or smudged still scan.
func VerifyQR(url string, px int) (*image.Gray, error) {
	if px < 1 {
		return nil, fmt.Errorf("QR code of %q: %d pixels per module", url, px)
	}
	code, err := qr.Encode(url, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("QR code of %q: %w", url, err)
	}
	n := code.Bounds().Dx()
	side := (n + 2*qrQuietZone) * px
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for my := 0; my < n; my++ {
		for mx := 0; mx < n; mx++ {
			if lum, _, _, _ := code.At(mx, my).RGBA(); lum > 0x7fff {
				continue // a light module
			}
			x0, y0 := (mx+qrQuietZone)*px, (my+qrQuietZone)*px
			for y := y0; y < y0+px; y++ {
				row := img.Pix[y*img.Stride:]
				for x := x0; x < x0+px; x++ {
					row[x] = 0
				}
			}
		}
	}
	return img, nil
}

// VerifyQRPNG returns VerifyQR(url) as the PNG a certificate embeds.
func VerifyQRPNG(url string) ([]byte, error) {
	img, err := VerifyQR(url, qrModulePixels)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("QR code of %q: %w", url, err)
	}
	return b.Bytes(), nil
}

// longDate writes a date as "March 31, 2028".
func longDate(d Date) string {
	return d.Time().Format("January 2, 2006")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
