package credential

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func certificateFixture() CertificateData {
	credits := 4.5
	return CertificateData{
		IssuerName:       "aalscert",
		HolderName:       "José Núñez-Łukasiewicz",
		CourseTitle:      "Advanced Airway Life Support",
		Edition:          "2026",
		GuidelineEdition: "2025 AHA",
		IssuedOn:         Date{Year: 2026, Month: 3, Day: 14},
		ValidThrough:     Date{Year: 2028, Month: 3, Day: 31},
		CECredits:        &credits,
		CEApprovalCode:   "CAPCE-26-0042",
		CEApprovingBody:  "CAPCE",
		Exam:             "online unproctored exam",
		SkillsInstructor: "Ana Ortiz",
		SkillsOrg:        "Mercy Training Center",
		Accreditation:    "This program is accredited for continuing education.",
		Code:             "AALS-7K3M-Q9TD",
		VerifyURL:        "https://certs.example/verify/AALS-7K3M-Q9TD",
	}
}

// pageObjects matches a page object, not the page tree ("/Type /Pages").
var pageObjects = regexp.MustCompile(`/Type /Page\b[^s]`)

// pdfText is s as the certificate's content stream holds it: UTF-16BE glyph codes for the
// embedded Unicode font, escaped like a PDF string.
func pdfText(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.BigEndian.AppendUint16(b, u)
	}
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`, "\r", `\r`)
	return []byte(r.Replace(string(b)))
}

func TestCertificateIsOnePageWithEveryFact(t *testing.T) {
	d := certificateFixture()
	pdf, err := renderCertificate(d, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("starts with %q, want %%PDF-", pdf[:min(8, len(pdf))])
	}
	if n := len(pageObjects.FindAll(pdf, -1)); n != 1 {
		t.Fatalf("%d pages, want 1", n)
	}
	for _, want := range []string{
		d.HolderName, d.CourseTitle, "2026 edition · guidelines 2025 AHA",
		"   March 14, 2026", "   March 31, 2028",
		"   4.5 CE credits, approval code CAPCE-26-0042 (CAPCE)",
		"   Online unproctored exam", "   Hands-on skills check with instructor Ana Ortiz, Mercy Training Center",
		d.Code, d.VerifyURL,
	} {
		if !bytes.Contains(pdf, pdfText(want)) {
			t.Errorf("certificate does not show %q", want)
		}
	}
}

func TestCertificateLeavesOutWhatDoesNotApply(t *testing.T) {
	d := certificateFixture()
	d.CECredits, d.SkillsInstructor, d.SkillsOrg = nil, "", ""
	pdf, err := renderCertificate(d, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"CE credits", "Continuing education", "skills check"} {
		if bytes.Contains(pdf, pdfText(absent)) {
			t.Errorf("certificate shows %q for a credential without it", absent)
		}
	}
}

func TestCertificateIsDeterministic(t *testing.T) {
	d := certificateFixture()
	a, err := Certificate(d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Certificate(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(a, []byte("%PDF-")) || len(pageObjects.FindAll(a, -1)) != 1 {
		t.Fatal("the compressed certificate is not a one-page PDF")
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same data differ")
	}
	d.Code = "AALS-7K3M-Q9TE"
	c, err := Certificate(d)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Fatal("certificates of two codes are the same file")
	}
}

func TestCertificateKeepsALongNameOnOnePage(t *testing.T) {
	d := certificateFixture()
	d.HolderName = strings.Repeat("Maximiliana Alexandra ", 6) + "Montgomery-Worthington"
	pdf, err := renderCertificate(d, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pageObjects.FindAll(pdf, -1)); n != 1 {
		t.Fatalf("%d pages, want 1", n)
	}
	if !bytes.Contains(pdf, pdfText(d.HolderName)) {
		t.Fatal("the long name is not on the certificate in one piece")
	}
}

func TestCertificateNeedsNameCodeAndURL(t *testing.T) {
	for name, blank := range map[string]func(*CertificateData){
		"Name": func(d *CertificateData) { d.HolderName = "" },
		"Code": func(d *CertificateData) { d.Code = "" },
		"URL":  func(d *CertificateData) { d.VerifyURL = "" },
	} {
		t.Run(name, func(t *testing.T) {
			d := certificateFixture()
			blank(&d)
			if _, err := Certificate(d); err == nil {
				t.Fatal("rendered a certificate without it")
			}
		})
	}
}

// TestVerifyQRDecodesToTheVerificationURL decodes the QR code with an independent reader
// (ZXing's Go port), and checks that the certificate embeds that very image.
func TestVerifyQRDecodesToTheVerificationURL(t *testing.T) {
	url := certificateFixture().VerifyURL
	img, err := VerifyQR(url, 4)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode QR code: %v", err)
	}
	if got := res.GetText(); got != url {
		t.Fatalf("QR code reads %q, want %q", got, url)
	}

	pngData, err := VerifyQRPNG(url)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := Certificate(certificateFixture())
	if err != nil {
		t.Fatal(err)
	}
	// fpdf copies a PNG's compressed pixel data into the image stream unchanged.
	if idat := pngIDAT(t, pngData); !bytes.Contains(pdf, idat) {
		t.Fatal("the certificate does not embed the verification QR code")
	}
}

// pngIDAT returns the concatenated IDAT chunk data of a PNG: its compressed pixels.
func pngIDAT(t *testing.T, p []byte) []byte {
	t.Helper()
	var out []byte
	for i := 8; i+8 <= len(p); {
		n := int(binary.BigEndian.Uint32(p[i:]))
		if string(p[i+4:i+8]) == "IDAT" {
			out = append(out, p[i+8:i+8+n]...)
		}
		i += 12 + n
	}
	if len(out) == 0 {
		t.Fatal("PNG has no image data")
	}
	return out
}

func TestVerifyQRNeedsPixels(t *testing.T) {
	if _, err := VerifyQR("https://certs.example/verify/X", 0); err == nil {
		t.Fatal("made a QR code with no pixels per module")
	}
}
