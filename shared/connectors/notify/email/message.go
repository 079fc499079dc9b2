package email

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/notify"
)

// outgoing is one message to build.
type outgoing struct {
	From        *mail.Address
	To          []*mail.Address
	Subject     string
	Text        string
	HTML        string // empty: rendered from Text
	Severity    string
	MessageID   string
	InReplyTo   string
	Date        time.Time
	Attachments []notify.Attachment
}

// defaultHTML renders the text as escaped HTML paragraphs.
var defaultHTML = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><body style="font-family:sans-serif">
{{- if .Title}}<h2>{{.Title}}</h2>{{end}}
{{- range .Paragraphs}}<p>{{.}}</p>{{end}}
{{- if .Severity}}<p style="color:#666">Severity: {{.Severity}}</p>{{end}}
</body></html>
`))

func renderHTML(title, text, severity string) (string, error) {
	var paragraphs []string
	for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			paragraphs = append(paragraphs, p)
		}
	}
	var b strings.Builder
	err := defaultHTML.Execute(&b, map[string]any{"Title": title, "Paragraphs": paragraphs, "Severity": severity})
	return b.String(), err
}

// headerSafe keeps a header value on one line.
func headerSafe(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)), " ")
}

// build renders the message as RFC 5322 bytes with CRLF line ends:
// multipart/alternative (text, HTML) alone, or inside multipart/mixed with
// the attachments.
func (o outgoing) build() ([]byte, error) {
	var buf bytes.Buffer
	to := make([]string, len(o.To))
	for i, a := range o.To {
		to[i] = a.String()
	}
	h := []string{
		"From: " + o.From.String(),
		"To: " + strings.Join(to, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", headerSafe(o.Subject)),
		"Date: " + o.Date.Format(time.RFC1123Z),
		"Message-ID: " + o.MessageID,
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
	}
	if o.InReplyTo != "" {
		h = append(h, "In-Reply-To: "+o.InReplyTo, "References: "+o.InReplyTo)
	}
	if o.Severity != "" {
		h = append(h, "X-Inthub-Severity: "+headerSafe(o.Severity))
		if o.Severity == notify.SeverityCritical {
			h = append(h, "Importance: high", "X-Priority: 1")
		}
	}
	html := o.HTML
	if html == "" {
		var err error
		if html, err = renderHTML(o.Subject, o.Text, o.Severity); err != nil {
			return nil, err
		}
	}
	alt := &bytes.Buffer{}
	aw := multipart.NewWriter(alt)
	if err := textPart(aw, "text/plain; charset=utf-8", o.Text); err != nil {
		return nil, err
	}
	if err := textPart(aw, "text/html; charset=utf-8", html); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	if len(o.Attachments) == 0 {
		h = append(h, "Content-Type: multipart/alternative; boundary="+aw.Boundary())
		writeHeader(&buf, h)
		buf.Write(alt.Bytes())
		return buf.Bytes(), nil
	}
	mixed := &bytes.Buffer{}
	mw := multipart.NewWriter(mixed)
	part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + aw.Boundary()}})
	if err != nil {
		return nil, err
	}
	if _, err := part.Write(alt.Bytes()); err != nil {
		return nil, err
	}
	for _, a := range o.Attachments {
		if err := attachmentPart(mw, a); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	h = append(h, "Content-Type: multipart/mixed; boundary="+mw.Boundary())
	writeHeader(&buf, h)
	buf.Write(mixed.Bytes())
	return buf.Bytes(), nil
}

func writeHeader(buf *bytes.Buffer, lines []string) {
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteString("\r\n")
	}
	buf.WriteString("\r\n")
}

// textPart writes a quoted-printable part (lines stay short, any UTF-8).
func textPart(w *multipart.Writer, contentType, body string) error {
	part, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {contentType},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(part)
	if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
		return err
	}
	return qp.Close()
}

// attachmentPart writes a base64 part in 76-character lines.
func attachmentPart(w *multipart.Writer, a notify.Attachment) error {
	mt, params, err := mime.ParseMediaType(a.ContentType)
	if err != nil {
		mt, params = "application/octet-stream", map[string]string{}
	}
	name := headerSafe(a.Filename)
	if name == "" {
		name = "attachment"
	}
	params["name"] = name
	part, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(mt, params)},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(a.Content)
	for len(enc) > 76 {
		if _, err := fmt.Fprintf(part, "%s\r\n", enc[:76]); err != nil {
			return err
		}
		enc = enc[76:]
	}
	_, err = fmt.Fprintf(part, "%s\r\n", enc)
	return err
}
