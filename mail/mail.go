// Package mail renders the service's emails (HTML and text from embedded templates) and sends
// them by SMTP. Every message is first recorded in the outbox (see models.OutboxMessage).
package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltmpl "html/template"
	"strings"
	texttmpl "text/template"
)

//go:embed templates/*
var templateFiles embed.FS

// Message is one rendered email.
type Message struct {
	To      string            `json:"to"`
	Subject string            `json:"subject"`
	Text    string            `json:"text"`
	HTML    string            `json:"html"`
	Headers map[string]string `json:"headers,omitempty"`
	// Attachments travel with the sealed copy only; the stored, readable copy lists none.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a file sent with a message, e.g. an invoice PDF.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"` // e.g. application/pdf
	Data        []byte `json:"data"`
}

// Render renders the named template (templates/<name>.subject, .txt and .html) with data.
func Render(name string, data any) (Message, error) {
	var m Message
	subject, err := renderText(name+".subject", data)
	if err != nil {
		return m, err
	}
	text, err := renderText(name+".txt", data)
	if err != nil {
		return m, err
	}
	html, err := renderHTML(name+".html", data)
	if err != nil {
		return m, err
	}
	m.Subject, m.Text, m.HTML = strings.TrimSpace(subject), text, html
	return m, nil
}

func renderText(file string, data any) (string, error) {
	t, err := texttmpl.New(file).Option("missingkey=error").ParseFS(templateFiles, "templates/"+file)
	if err != nil {
		return "", fmt.Errorf("mail template %s: %w", file, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("mail template %s: %w", file, err)
	}
	return b.String(), nil
}

func renderHTML(file string, data any) (string, error) {
	t, err := htmltmpl.New("layout.html").Option("missingkey=error").ParseFS(templateFiles, "templates/layout.html", "templates/"+file)
	if err != nil {
		return "", fmt.Errorf("mail template %s: %w", file, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("mail template %s: %w", file, err)
	}
	return b.String(), nil
}

// Redact returns m with every secret replaced, for the stored copy an admin may read.
func Redact(m Message, secrets ...string) Message {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		m.Text = strings.ReplaceAll(m.Text, s, "[redacted]")
		m.HTML = strings.ReplaceAll(m.HTML, s, "[redacted]")
		for k, v := range m.Headers {
			m.Headers[k] = strings.ReplaceAll(v, s, "[redacted]")
		}
	}
	return m
}

// SealAAD binds a sealed message to its outbox row.
func SealAAD(id [16]byte) []byte {
	return append([]byte("outbox:"), id[:]...)
}
