package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aalscert/aalscert/credential"
	"github.com/aalscert/aalscert/models"
)

// The checks of a presented credential, in the order they are reported.
const (
	checkSignature  = "signature"
	checkIssuer     = "issuer"
	checkDates      = "dates"
	checkRevocation = "revocation"
	checkSuspension = "suspension"
)

// verifyVCRoutes registers the public verification of a presented VC-JWT.
func (s *Server) verifyVCRoutes(g *echo.Group) {
	g.POST("/verify/vc", s.verifyVC)
}

// verifyVCInput is the JSON form of the body.
type verifyVCInput struct {
	VC *string `json:"vc"`
}

// vcCheck is the outcome of one check.
type vcCheck struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// verifyVCResponse says whether the credential is valid now, and why. Status is the issuer's
// record of the credential, which also tells a verifier of a superseded one (still genuine,
// never revoked for a name change) which credential replaced it.
type verifyVCResponse struct {
	Valid        bool           `json:"valid"`
	Checks       []vcCheck      `json:"checks"`
	Credential   map[string]any `json:"credential"`
	Status       *string        `json:"status"`
	SupersededBy *string        `json:"superseded_by,omitempty"`
}

// verifyVC handles POST /v1/verify/vc: checks a VC-JWT this issuer signed — the signature
// against the issuer's own published keys only (the kid picks the key; the key's algorithm is
// pinned), the issuer, the validity dates, and both status lists as published — and reports
// each check. A status that cannot be read fails its check: unknown is never valid. It is
// rate-limited per client address with the lookups by code.
func (s *Server) verifyVC(c echo.Context) error {
	// It shares the lookups of GET /v1/verify/{code}: it reads the same records.
	if err := s.limitVerification(c); err != nil {
		return err
	}
	token, err := s.presentedVC(c)
	if err != nil {
		return err
	}
	out := verifyVCResponse{Checks: []vcCheck{}}
	payload, sigErr := s.checkVCSignature(token)
	if sigErr != nil {
		out.Checks = append(out.Checks, vcCheck{Check: checkSignature, Detail: sigErr.Error()})
		for _, name := range []string{checkIssuer, checkDates, checkRevocation, checkSuspension} {
			out.Checks = append(out.Checks, vcCheck{Check: name, Detail: "not checked: the signature is not valid"})
		}
		return c.JSON(http.StatusOK, out)
	}
	out.Credential = payload
	record, recordErr := s.credentialRecord(ctx(c), payload)
	out.Checks = append(out.Checks,
		vcCheck{Check: checkSignature, OK: true, Detail: "signed by this issuer's key " + headerKID(token)},
		s.checkVCIssuer(payload),
		s.checkVCDates(payload),
		s.checkVCRevocation(ctx(c), payload),
		s.checkVCSuspension(ctx(c), record, recordErr),
	)
	if record != nil {
		status := record.StatusAt(s.now())
		out.Status = &status
		if record.SupersededBy != nil {
			if next, err := models.FindCredential(ctx(c), s.db.Gorm, *record.SupersededBy); err == nil {
				out.SupersededBy = &next.Code
			}
		}
	}
	out.Valid = true
	for _, ch := range out.Checks {
		out.Valid = out.Valid && ch.OK
	}
	return c.JSON(http.StatusOK, out)
}

// presentedVC reads the token from a JSON body {"vc": ...} or a bare application/vc+jwt body.
func (s *Server) presentedVC(c echo.Context) (string, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	var token string
	if mt == VCMediaType {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return "", err
		}
		token = string(b)
	} else {
		var in verifyVCInput
		if err := c.Bind(&in); err != nil {
			return "", err
		}
		if in.VC != nil {
			token = *in.VC
		}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", models.Invalid("vc", "is required: a compact JWT")
	}
	return token, nil
}

// checkVCSignature verifies the token against the issuer's published keys and returns its
// payload; the error says in plain words what is wrong.
func (s *Server) checkVCSignature(token string) (map[string]any, error) {
	v, err := credential.NewVerifier(s.publishedKeys()...)
	if err != nil {
		return nil, err
	}
	payload, err := v.VerifySignature(token)
	switch {
	case err == nil:
		return payload, nil
	case errors.Is(err, credential.ErrMalformedToken):
		return nil, fmt.Errorf("not a compact JWT: %w", err)
	case errors.Is(err, credential.ErrUnknownKey):
		return nil, fmt.Errorf("not signed with a key this issuer published (%w)", err)
	case errors.Is(err, credential.ErrAlgorithm):
		return nil, fmt.Errorf("the header is not one this issuer writes (%w)", err)
	default:
		return nil, fmt.Errorf("the signature does not match the credential: %w", err)
	}
}

// headerKID returns the kid of a token whose header was already verified.
func headerKID(token string) string {
	h, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err != nil || json.Unmarshal(raw, &hdr) != nil {
		return ""
	}
	return hdr.Kid
}

// checkVCIssuer checks that the credential names this issuer, in the document and in iss.
func (s *Server) checkVCIssuer(payload map[string]any) vcCheck {
	want := s.cfg.PublicURL + "/issuer"
	iss, _ := payload["issuer"].(map[string]any)
	id, _ := iss["id"].(string)
	if claim, _ := payload["iss"].(string); id != want || claim != want {
		return vcCheck{Check: checkIssuer, Detail: fmt.Sprintf("issuer %q (iss %q), want %q", id, claim, want)}
	}
	return vcCheck{Check: checkIssuer, OK: true, Detail: want}
}

// checkVCDates checks validFrom, validUntil, nbf and exp against now.
func (s *Server) checkVCDates(payload map[string]any) vcCheck {
	if err := credential.CheckDates(payload, s.now()); err != nil {
		return vcCheck{Check: checkDates, Detail: err.Error()}
	}
	until, _ := payload["validUntil"].(string)
	return vcCheck{Check: checkDates, OK: true, Detail: "valid now; valid until " + until}
}

// checkVCRevocation reads the credential's revocation entry from the list it names.
func (s *Server) checkVCRevocation(ctx context.Context, payload map[string]any) vcCheck {
	listURL, index, err := revocationEntry(payload["credentialStatus"])
	if err != nil {
		return vcCheck{Check: checkRevocation, Detail: "status unknown: " + err.Error()}
	}
	set, err := s.statusBit(ctx, listURL, index, credential.StatusRevocation)
	switch {
	case err != nil:
		return vcCheck{Check: checkRevocation, Detail: "status unknown: " + err.Error()}
	case set:
		return vcCheck{Check: checkRevocation, Detail: "revoked"}
	}
	return vcCheck{Check: checkRevocation, OK: true, Detail: "not revoked"}
}

// credentialRecord returns the issuer's record of the credential the payload's jti names.
func (s *Server) credentialRecord(ctx context.Context, payload map[string]any) (*models.Credential, error) {
	jti, _ := payload["jti"].(string)
	id, err := uuid.Parse(strings.TrimPrefix(jti, "urn:uuid:"))
	if err != nil {
		return nil, errors.New("the credential has no urn:uuid id")
	}
	cr, err := models.FindCredential(ctx, s.db.Gorm, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errors.New("this issuer has no record of the credential")
	}
	if err != nil {
		return nil, errors.New("the issuer's records could not be read")
	}
	return cr, nil
}

// checkVCSuspension reads the credential's suspension entry. The VC carries only its
// revocation entry (Open Badges allows one), so the suspension entry is found from the
// issuer's record of the credential.
func (s *Server) checkVCSuspension(ctx context.Context, cr *models.Credential, recordErr error) vcCheck {
	if recordErr != nil {
		return vcCheck{Check: checkSuspension, Detail: "status unknown: " + recordErr.Error()}
	}
	set, err := s.statusBit(ctx, s.statusListURL(cr.SuspensionList), cr.SuspensionIndex, credential.StatusSuspension)
	switch {
	case err != nil:
		return vcCheck{Check: checkSuspension, Detail: "status unknown: " + err.Error()}
	case set:
		return vcCheck{Check: checkSuspension, Detail: "suspended"}
	}
	return vcCheck{Check: checkSuspension, OK: true, Detail: "not suspended"}
}

// revocationEntry finds the BitstringStatusListEntry for revocation in a credentialStatus
// (one entry or an array of them).
func revocationEntry(v any) (listURL string, index int, err error) {
	entries, ok := v.([]any)
	if !ok {
		entries = []any{v}
	}
	for _, e := range entries {
		m, _ := e.(map[string]any)
		if m["type"] != "BitstringStatusListEntry" || m["statusPurpose"] != string(credential.StatusRevocation) {
			continue
		}
		listURL, _ = m["statusListCredential"].(string)
		idx, _ := m["statusListIndex"].(string)
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || listURL == "" {
			return "", 0, errors.New("the revocation entry has no valid statusListIndex or statusListCredential")
		}
		return listURL, i, nil
	}
	return "", 0, errors.New("the credential has no BitstringStatusListEntry for revocation")
}

// statusBit reads entry index of the status list at listURL the way any verifier would: the
// list must be one this issuer publishes, its signature must verify with the issuer's keys,
// its purpose must match, and the index must be in it.
func (s *Server) statusBit(ctx context.Context, listURL string, index int, purpose credential.StatusPurpose) (bool, error) {
	prefix := s.cfg.PublicURL + "/v1/status-lists/"
	rest, ok := strings.CutPrefix(listURL, prefix)
	id, err := strconv.Atoi(rest)
	if !ok || err != nil || id <= 0 || strconv.Itoa(id) != rest {
		return false, fmt.Errorf("the status list %q is not one this issuer publishes", listURL)
	}
	signed, err := s.signStatusList(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return false, fmt.Errorf("the status list %s does not exist", listURL)
	}
	if err != nil {
		return false, errors.New("the status list could not be read")
	}
	v, err := credential.NewVerifier(s.publishedKeys()...)
	if err != nil {
		return false, err
	}
	list, err := v.VerifySignature(signed.jwt)
	if err != nil {
		return false, fmt.Errorf("the status list's signature does not verify: %w", err)
	}
	subject, _ := list["credentialSubject"].(map[string]any)
	if got, _ := subject["statusPurpose"].(string); got != string(purpose) {
		return false, fmt.Errorf("the status list %s is for %q, not %q", listURL, got, purpose)
	}
	encoded, _ := subject["encodedList"].(string)
	bits, err := credential.DecodeBitstring(encoded)
	if err != nil {
		return false, err
	}
	return bits.Get(index)
}
