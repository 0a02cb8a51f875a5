package jobs

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// IssuerName is the issuer as certificates name it.
const IssuerName = "aalscert"

// reissueNote is printed on a reissued certificate, so a holder with both copies can tell them apart.
const reissueNote = "This certificate replaces one issued earlier under a former name."

// CertificatePDF returns the stored certificate of c, rendering and storing it first if none
// is stored yet. Concurrent callers may both render, but the first stored copy wins and both
// return it, so a certificate never changes once someone has it.
func CertificatePDF(ctx context.Context, db *gorm.DB, c *models.Credential, publicURL string, now time.Time) ([]byte, error) {
	pdf, err := models.FindCredentialPDF(ctx, db, c.ID)
	if !models.IsNotFound(err) {
		return pdf, err
	}
	course, err := models.FindCourse(ctx, db, c.CourseCode)
	if err != nil {
		return nil, err
	}
	pdf, err = credential.Certificate(CertificateData(c, course, publicURL))
	if err != nil {
		return nil, err
	}
	stored, err := models.CreateCredentialPDF(ctx, db, c.ID, pdf, now)
	if err != nil {
		return nil, fmt.Errorf("store certificate of credential %s: %w", c.ID, err)
	}
	if stored {
		return pdf, nil
	}
	return models.FindCredentialPDF(ctx, db, c.ID)
}

// CertificateData is what the certificate of c shows.
func CertificateData(c *models.Credential, course *models.Course, publicURL string) credential.CertificateData {
	d := credential.CertificateData{
		IssuerName: IssuerName, HolderName: c.HolderName, CourseTitle: course.Title,
		Edition: c.Edition, GuidelineEdition: c.GuidelineEdition,
		IssuedOn: credential.DateOf(c.IssuedOn), ValidThrough: credential.DateOf(c.ValidThrough),
		CECredits: c.CECredits, Exam: c.Assessment.Exam, Accreditation: course.Accreditation,
		Code: c.Code, VerifyURL: VerifyURL(publicURL, c.Code),
	}
	if c.CECredits != nil {
		d.CEApprovingBody = course.CEApprovingBody
		if c.CEApprovalCode != nil {
			d.CEApprovalCode = *c.CEApprovalCode
		}
	}
	if sc := c.Assessment.SkillsCheck; sc != nil {
		d.SkillsInstructor, d.SkillsOrg = sc.Instructor, sc.Org
	}
	if c.Source == models.CredentialReissued {
		d.Note = reissueNote
	}
	return d
}

// VerifyURL is the public verification page of the credential with code.
func VerifyURL(publicURL, code string) string {
	return publicURL + "/verify/" + code
}
