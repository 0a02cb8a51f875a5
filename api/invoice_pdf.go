package api

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/go-pdf/fpdf"
)

// invoiceRemitTo is where a purchase-order payment is sent; printed on every invoice.
const invoiceRemitTo = `AALS Certification Program
Accounts Receivable
Pay by check or bank transfer by the payment due date above.
Quote the invoice number with your payment; bank details on request from the program office.`

// invoiceDoc is what an invoice shows. It is plain data so the PDF needs no database.
type invoiceDoc struct {
	Number     string
	OrderID    string
	PONumber   string
	Issued     time.Time
	Due        time.Time
	BuyerName  string
	BuyerEmail string
	OrgName    string // "" for a provider paying for themselves
	Item       string
	Quantity   int
	UnitAmount int // cents
	Amount     int // cents, the amount due
	Currency   string
}

// renderInvoice returns the invoice as a one-page PDF. Its bytes depend only on d.
func renderInvoice(d invoiceDoc) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "Letter", "")
	pdf.SetCreationDate(d.Issued)
	pdf.SetModificationDate(d.Issued)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("Invoice "+d.Number, true)
	pdf.SetAuthor("aalscert", true)
	pdf.SetMargins(20, 20, 20)
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252, the core fonts' encoding
	invoiceHeader(pdf, tr, d)
	invoiceParties(pdf, tr, d)
	invoiceLines(pdf, tr, d)
	invoiceRemit(pdf, tr)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("render invoice %s: %w", d.Number, err)
	}
	return b.Bytes(), nil
}

func invoiceHeader(pdf *fpdf.Fpdf, tr func(string) string, d invoiceDoc) {
	pdf.SetFont("Helvetica", "B", 20)
	pdf.CellFormat(0, 10, "INVOICE", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 5, tr("aalscert — AALS and ACLS certification"), "", 1, "L", false, 0, "")
	pdf.Ln(6)
	for _, row := range [][2]string{
		{"Invoice number", d.Number},
		{"Invoice date", d.Issued.UTC().Format("January 2, 2006")},
		{"Purchase order", d.PONumber},
		{"Order", d.OrderID},
		{"Payment due", d.Due.Format("January 2, 2006")},
	} {
		invoiceField(pdf, tr, row[0], row[1])
	}
	pdf.Ln(4)
}

func invoiceParties(pdf *fpdf.Fpdf, tr func(string) string, d invoiceDoc) {
	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(0, 6, "Bill to", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	if d.OrgName != "" {
		pdf.CellFormat(0, 5, tr(d.OrgName), "", 1, "L", false, 0, "")
		pdf.CellFormat(0, 5, tr("Attn: "+d.BuyerName), "", 1, "L", false, 0, "")
	} else {
		pdf.CellFormat(0, 5, tr(d.BuyerName), "", 1, "L", false, 0, "")
	}
	pdf.CellFormat(0, 5, tr(d.BuyerEmail), "", 1, "L", false, 0, "")
	pdf.Ln(6)
}

func invoiceLines(pdf *fpdf.Fpdf, tr func(string) string, d invoiceDoc) {
	widths := []float64{96, 20, 30, 30}
	pdf.SetFont("Helvetica", "B", 10)
	pdf.SetFillColor(235, 235, 235)
	for i, h := range []string{"Item", "Quantity", "Unit price", "Amount"} {
		align := "R"
		if i == 0 {
			align = "L"
		}
		pdf.CellFormat(widths[i], 7, h, "B", 0, align, true, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 10)
	item := tr(d.Item)
	for size := 9.5; pdf.GetStringWidth(item) > widths[0]-2 && size >= 6; size -= 0.5 {
		pdf.SetFontSize(size) // a long course title shrinks rather than overflowing the column
	}
	pdf.CellFormat(widths[0], 7, item, "", 0, "L", false, 0, "")
	pdf.SetFontSize(10)
	pdf.CellFormat(widths[1], 7, strconv.Itoa(d.Quantity), "", 0, "R", false, 0, "")
	pdf.CellFormat(widths[2], 7, formatMoney(d.UnitAmount, d.Currency), "", 0, "R", false, 0, "")
	pdf.CellFormat(widths[3], 7, formatMoney(d.Amount, d.Currency), "", 1, "R", false, 0, "")
	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(widths[0]+widths[1]+widths[2], 9, "Amount due", "T", 0, "R", false, 0, "")
	pdf.CellFormat(widths[3], 9, formatMoney(d.Amount, d.Currency), "T", 1, "R", false, 0, "")
	pdf.Ln(8)
}

func invoiceRemit(pdf *fpdf.Fpdf, tr func(string) string) {
	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(0, 6, "Remit to", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.MultiCell(0, 5, tr(invoiceRemitTo), "", "L", false)
}

func invoiceField(pdf *fpdf.Fpdf, tr func(string) string, label, value string) {
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(40, 6, label, "", 0, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 6, tr(value), "", 1, "L", false, 0, "")
}
