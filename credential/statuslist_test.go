package credential

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// w3cAllZero is the encodedList of the examples in the Bitstring Status List v1.0
// Recommendation: 131,072 clear entries.
const w3cAllZero = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"

func mustList(t testing.TB, size int) Bitstring {
	t.Helper()
	b, err := NewBitstring(size)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBitstringBitOrder(t *testing.T) {
	for _, tc := range []struct {
		index int
		byte  int
		want  byte
	}{
		{0, 0, 0x80},
		{1, 0, 0x40},
		{7, 0, 0x01},
		{8, 1, 0x80},
		{15, 1, 0x01},
		{MinListSize - 1, MinListSize/8 - 1, 0x01},
	} {
		b := mustList(t, MinListSize)
		if err := b.Set(tc.index, true); err != nil {
			t.Fatal(err)
		}
		for i, got := range b {
			want := byte(0)
			if i == tc.byte {
				want = tc.want
			}
			if got != want {
				t.Fatalf("Set(%d): byte %d = %#02x, want %#02x", tc.index, i, got, want)
			}
		}
		if v, err := b.Get(tc.index); err != nil || !v {
			t.Errorf("Get(%d) = %v, %v; want true", tc.index, v, err)
		}
		if err := b.Set(tc.index, false); err != nil {
			t.Fatal(err)
		}
		if v, _ := b.Get(tc.index); v {
			t.Errorf("Get(%d) after clearing = true", tc.index)
		}
		if !bytes.Equal(b, make([]byte, MinListSize/8)) {
			t.Errorf("clearing %d left bits set", tc.index)
		}
	}
}

func TestBitstringRange(t *testing.T) {
	b := mustList(t, MinListSize)
	for _, i := range []int{-1, MinListSize, MinListSize + 8, 1 << 40} {
		if err := b.Set(i, true); !errors.Is(err, ErrStatusRange) {
			t.Errorf("Set(%d) error = %v, want ErrStatusRange", i, err)
		}
		if _, err := b.Get(i); !errors.Is(err, ErrStatusRange) {
			t.Errorf("Get(%d) error = %v, want ErrStatusRange", i, err)
		}
	}
}

func TestNewBitstringSize(t *testing.T) {
	for _, size := range []int{0, 8, MinListSize - 8, MinListSize + 1, MaxListSize + 8} {
		if _, err := NewBitstring(size); !errors.Is(err, ErrStatusListLength) {
			t.Errorf("NewBitstring(%d) error = %v, want ErrStatusListLength", size, err)
		}
	}
	b := mustList(t, 2*MinListSize)
	if b.Len() != 2*MinListSize {
		t.Errorf("Len = %d", b.Len())
	}
}

func TestBitstringRoundTrip(t *testing.T) {
	b := mustList(t, MinListSize)
	set := []int{0, 1, 7, 8, 4095, 65536, 99999, MinListSize - 1}
	for _, i := range set {
		if err := b.Set(i, true); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "uH4sI") {
		t.Errorf("encodedList %q does not start with the GZIP magic in base64url", enc[:10])
	}
	enc2, _ := b.Encode()
	if enc != enc2 {
		t.Error("Encode is not deterministic")
	}
	got, err := DecodeBitstring(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b) {
		t.Fatal("round trip changed the list")
	}
	n := 0
	for i := range got.Len() {
		if v, _ := got.Get(i); v {
			n++
		}
	}
	if n != len(set) {
		t.Errorf("%d bits set after round trip, want %d", n, len(set))
	}
}

func TestDecodeW3CExample(t *testing.T) {
	b, err := DecodeBitstring(w3cAllZero)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != MinListSize {
		t.Errorf("Len = %d, want %d", b.Len(), MinListSize)
	}
	if !bytes.Equal(b, make([]byte, MinListSize/8)) {
		t.Error("W3C example list has set bits")
	}
	// Ours encodes the same bits; it need not be the same string (compressors differ).
	ours, err := mustList(t, MinListSize).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ours, "uH4sI") {
		t.Errorf("our all-zero list %q does not start with uH4sI", ours)
	}
}

func gzipB64(t testing.TB, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

func TestDecodeErrors(t *testing.T) {
	valid := gzipB64(t, make([]byte, MinListSize/8))
	truncated := func() string {
		raw, _ := base64.RawURLEncoding.DecodeString(valid[1:])
		return "u" + base64.RawURLEncoding.EncodeToString(raw[:len(raw)-4])
	}()
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrStatusListMalformed},
		{"no multibase prefix", valid[1:], ErrStatusListMalformed},
		{"other multibase prefix", "z" + valid[1:], ErrStatusListMalformed},
		{"padded base64", valid + "==", ErrStatusListMalformed},
		{"standard base64 alphabet", "u" + base64.RawStdEncoding.EncodeToString([]byte("\xfb\xff\xfe")), ErrStatusListMalformed},
		{"not gzip", "u" + base64.RawURLEncoding.EncodeToString(make([]byte, MinListSize/8)), ErrStatusListMalformed},
		{"truncated gzip", truncated, ErrStatusListMalformed},
		{"empty list", gzipB64(t, nil), ErrStatusListLength},
		{"one byte short", gzipB64(t, make([]byte, MinListSize/8-1)), ErrStatusListLength},
		{"gzip bomb", gzipB64(t, make([]byte, MaxListSize/8+1)), ErrStatusListLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBitstring(tc.in)
			if !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
	// The largest list allowed still decodes.
	if b, err := DecodeBitstring(gzipB64(t, make([]byte, MaxListSize/8))); err != nil || b.Len() != MaxListSize {
		t.Errorf("list of MaxListSize: len %d, error %v", b.Len(), err)
	}
}

func TestListCredential(t *testing.T) {
	b := mustList(t, MinListSize)
	b.Set(3, true)
	enc, _ := b.Encode()
	vc, err := ListCredential(StatusListParams{
		ListURL:   "https://aals.example/v1/status-lists/1",
		Issuer:    "https://aals.example/issuer",
		ValidFrom: time.Date(2026, 3, 14, 9, 30, 15, 500, time.FixedZone("EST", -5*3600)),
		Purpose:   StatusRevocation,
		List:      b,
		TTL:       5 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(vc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"@context":["https://www.w3.org/ns/credentials/v2"],` +
		`"id":"https://aals.example/v1/status-lists/1",` +
		`"type":["VerifiableCredential","BitstringStatusListCredential"],` +
		`"issuer":"https://aals.example/issuer",` +
		`"validFrom":"2026-03-14T14:30:15Z",` +
		`"credentialSubject":{"id":"https://aals.example/v1/status-lists/1#list",` +
		`"type":"BitstringStatusList","statusPurpose":"revocation",` +
		`"encodedList":"` + enc + `","ttl":300000}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// ttl is optional.
	vc, err = ListCredential(StatusListParams{ListURL: "u", Issuer: "i", Purpose: StatusSuspension, List: b})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(vc); bytes.Contains(got, []byte("ttl")) {
		t.Errorf("ttl present without a TTL: %s", got)
	}

	for name, p := range map[string]StatusListParams{
		"purpose":    {ListURL: "u", Issuer: "i", Purpose: "refresh", List: b},
		"list URL":   {Issuer: "i", Purpose: StatusRevocation, List: b},
		"issuer":     {ListURL: "u", Purpose: StatusRevocation, List: b},
		"short list": {ListURL: "u", Issuer: "i", Purpose: StatusRevocation, List: make(Bitstring, 16)},
	} {
		if _, err := ListCredential(p); err == nil {
			t.Errorf("no error for a bad %s", name)
		}
	}
}
