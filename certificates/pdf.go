package certificates

import (
	"errors"
	"fmt"
	"io"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// The PDF is one A4 page laid out like the sample certificate of sanitization of
// NIST SP 800-88 Rev. 1, Appendix G: who sanitized, the media, how they were
// sanitized and verified, where they go, and the signatures. It uses only the
// PDF core fonts (Helvetica, Courier), so it embeds no font file; their encoding
// is Windows-1252, into which every string is translated (pdfText).
//
// Every element has a bounded size (one line per field, at most maxPassRows rows
// of passes, a few lines of notes), and the spacing between rows stretches or
// squeezes to fill the page, so the content always stays on one page.
//
// This file holds the document's order; pdf_layout.go the geometry and drawing
// primitives (fonts, boxes, fields, wrapping); pdf_sections.go one method per
// section of the page; pdf_text.go the wording of values; pdf_cp1252.go the
// translation into Windows-1252.

// WritePDF renders c as a one-page PDF. keyFingerprint identifies the signing key
// ("SHA256:…"); bundleName is the file name of the signed JSON it was rendered from.
// url is the certificate's page on a registry known to hold it, or empty: the QR
// code holds url when there is one, and the certificate's ID (urn:uuid:…) otherwise.
// Pass a url only where holding the certificate is known (the registry's own
// rendering, or an agent's rendering after the registry acknowledged its upload).
//
// The PDF is a rendering for people: the signed JSON stays authoritative, and the
// page says so. A failed or aborted wipe renders as a record that is plainly not
// a certificate of sanitization. The same input gives the same bytes: the
// document's dates are c.Issued, never the time of rendering.
func WritePDF(w io.Writer, c *Certificate, keyFingerprint, bundleName, url string) error {
	if c == nil {
		return errors.New("render certificate: no certificate")
	}
	r, err := renderPDF(c, keyFingerprint, bundleName, url)
	if err != nil {
		return err
	}
	if err := r.f.Output(w); err != nil {
		return fmt.Errorf("render certificate %s: %w", c.ID, err)
	}
	return nil
}

// pdfPage draws one certificate.
type pdfPage struct {
	f           *fpdf.Fpdf
	c           *Certificate
	fingerprint string
	bundle      string
	// url is the certificate's page on a registry, or empty.
	url string
	y   float64
	// overflow records that content reached the signatures; the tests check it
	// never does.
	overflow bool
	// contentEnd is where the content above the signatures ends; signaturesTop
	// where the signatures start.
	contentEnd, signaturesTop float64
	// row, passRow and gap are rowH, passRowH and sectGap at this page's spacing.
	row, passRow, gap float64
	// ticked are the labels of the ticked boxes, "Method type: Destroy" and so on,
	// for the tests.
	ticked []string
}

// renderPDF lays the page out at the spacing that fills it: stretched when the
// content is short, squeezed when it is long.
func renderPDF(c *Certificate, keyFingerprint, bundleName, url string) (*pdfPage, error) {
	const lo, hi = 0.8, 1.3
	at := func(spacing float64) (*pdfPage, float64, error) {
		p, err := layoutPDF(c, keyFingerprint, bundleName, url, spacing)
		if err != nil {
			return nil, 0, err
		}
		return p, p.contentEnd, nil
	}
	p, end1, err := at(1)
	if err != nil {
		return nil, err
	}
	_, end2, err := at(hi)
	if err != nil {
		return nil, err
	}
	if end2 <= end1 {
		return p, nil
	}
	// The content's end grows about linearly with the spacing.
	limit := footerY - 3 - signatureH - 2
	spacing := 1 + (hi-1)*(limit-end1)/(end2-end1)
	spacing = min(max(spacing, lo), hi)
	if q, _, err := at(spacing); err == nil && (!q.overflow || p.overflow) {
		return q, nil
	}
	return p, nil
}

func layoutPDF(c *Certificate, keyFingerprint, bundleName, url string, spacing float64) (*pdfPage, error) {
	f := fpdf.New("P", "mm", "A4", "")
	issued := c.Issued.UTC()
	if issued.IsZero() {
		issued = time.Unix(0, 0).UTC()
	}
	f.SetCreationDate(issued)
	f.SetModificationDate(issued)
	f.SetCatalogSort(true)
	f.SetCompression(true)
	f.SetProducer("decom (codeberg.org/go-pdf/fpdf)", true)
	f.SetCreator(joinNonEmpty(" ", "decom", c.Sanitization.Tool.Version), true)
	f.SetTitle(c.Title(), true)
	f.SetSubject("NIST SP 800-88 Rev. 1 certificate of sanitization rendering; authoritative: "+bundleName, true)
	f.SetAuthor(c.PerformedBy.Name, true)
	f.SetKeywords("urn:uuid:"+c.ID, true)
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(false, 0)
	f.SetCellMargin(0)
	f.SetLineCapStyle("butt")
	f.AddPage()

	p := &pdfPage{f: f, c: c, fingerprint: keyFingerprint, bundle: bundleName, url: url, y: 12,
		row: rowH * spacing, passRow: passRowH * spacing, gap: sectGap * spacing}
	p.header()
	p.banner()
	p.person()
	p.media()
	p.sanitization()
	p.destination()
	p.signatures()
	p.footer()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("render certificate %s: %w", c.ID, err)
	}
	return p, nil
}
