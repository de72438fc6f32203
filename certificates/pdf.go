package certificates

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"github.com/boombuler/barcode/qr"

	"github.com/decom-project/decom/internal/humanize"
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

// Page geometry, in millimetres.
const (
	pageW    = 210.0
	pageH    = 297.0
	margin   = 14.0
	contentW = pageW - 2*margin
	qrSize   = 30.0
	barH     = 5.4 // a section bar
	// The heights of a field row, a row of the passes table and the space after a
	// section, at spacing 1; the page stretches or squeezes them to fill itself.
	rowH     = 4.6
	passRowH = 3.9
	sectGap  = 2.3
	footerY  = pageH - 17
	// signatureH is the height of the signature and validation boxes.
	signatureH = 30.0

	// maxPassRows is how many rows the passes table has at most; longer wipes
	// (Gutmann: 35 passes) show their first passes, a summary row and the last pass.
	maxPassRows = 7
	maxNoteRows = 4
)

type rgb struct{ r, g, b int }

var (
	colInk   = rgb{20, 24, 31}
	colMuted = rgb{96, 103, 112}
	colRule  = rgb{196, 201, 208}
	colBar   = rgb{31, 56, 100}
	colZebra = rgb{242, 244, 248}
	colWhite = rgb{255, 255, 255}
	colGreen = rgb{22, 120, 60}
	colAmber = rgb{168, 98, 0}
	colRed   = rgb{176, 28, 36}
)

// WritePDF renders c as a one-page PDF. keyFingerprint identifies the signing key
// ("SHA256:…"); bundleName is the file name of the signed JSON it was rendered from.
//
// The PDF is a rendering for people: the signed JSON stays authoritative, and the
// page says so. A failed or aborted wipe renders as a record that is plainly not
// a certificate of sanitization. The same input gives the same bytes: the
// document's dates are c.Issued, never the time of rendering.
func WritePDF(w io.Writer, c *Certificate, keyFingerprint, bundleName string) error {
	if c == nil {
		return errors.New("render certificate: no certificate")
	}
	r, err := renderPDF(c, keyFingerprint, bundleName)
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
	y           float64
	// overflow records that content reached the signatures; the tests check it
	// never does.
	overflow bool
	// contentEnd is where the content above the signatures ends.
	contentEnd float64
	// row, passRow and gap are rowH, passRowH and sectGap at this page's spacing.
	row, passRow, gap float64
}

// renderPDF lays the page out at the spacing that fills it: stretched when the
// content is short, squeezed when it is long.
func renderPDF(c *Certificate, keyFingerprint, bundleName string) (*pdfPage, error) {
	const lo, hi = 0.8, 1.3
	at := func(spacing float64) (*pdfPage, float64, error) {
		p, err := layoutPDF(c, keyFingerprint, bundleName, spacing)
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

func layoutPDF(c *Certificate, keyFingerprint, bundleName string, spacing float64) (*pdfPage, error) {
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

	p := &pdfPage{f: f, c: c, fingerprint: keyFingerprint, bundle: bundleName, y: 12,
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

// Drawing primitives.

func (p *pdfPage) font(style string, size float64, col rgb) {
	family := "Helvetica"
	if strings.Contains(style, "M") { // monospace
		family, style = "Courier", strings.ReplaceAll(style, "M", "")
	}
	p.f.SetFont(family, style, size)
	p.f.SetTextColor(col.r, col.g, col.b)
}

func (p *pdfPage) fill(col rgb) { p.f.SetFillColor(col.r, col.g, col.b) }
func (p *pdfPage) draw(col rgb) { p.f.SetDrawColor(col.r, col.g, col.b) }

// text writes s on one line in the box (x, y, w, h), cut with an ellipsis when it
// does not fit. align is L, C or R.
func (p *pdfPage) text(x, y, w, h float64, s, align string) {
	p.f.SetXY(x, y)
	p.f.CellFormat(w, h, p.fit(pdfText(oneLine(s)), w), "", 0, align+"M", false, 0, "")
}

// fit cuts a Windows-1252 string to width w, ending it with an ellipsis.
func (p *pdfPage) fit(s string, w float64) string {
	if p.f.GetStringWidth(s) <= w {
		return s
	}
	return p.ellipsize(s, w)
}

// ellipsize ends a Windows-1252 string with an ellipsis, cutting it to width w.
func (p *pdfPage) ellipsize(s string, w float64) string {
	const ellipsis = "\x85"
	for len(s) > 0 && p.f.GetStringWidth(s+ellipsis) > w {
		s = s[:len(s)-1]
	}
	return strings.TrimRight(s, " ") + ellipsis
}

// lines wraps s (UTF-8) to width w in the current font, keeping at most max lines;
// a cut last line ends with an ellipsis.
func (p *pdfPage) lines(s string, w float64, max int) []string {
	var out []string
	for _, l := range p.f.SplitLines([]byte(pdfText(s)), w) {
		out = append(out, string(l))
	}
	if len(out) > max {
		out = out[:max]
		out[max-1] = p.ellipsize(out[max-1], w)
	}
	return out
}

func (p *pdfPage) rule(x1, y, x2 float64, col rgb, width float64) {
	p.draw(col)
	p.f.SetLineWidth(width)
	p.f.Line(x1, y, x2, y)
}

// checkFull records content that would reach the signatures and footer.
func (p *pdfPage) checkFull(bottom float64) {
	if bottom > footerY-3-signatureH {
		p.overflow = true
	}
}

// section draws a section's title bar.
func (p *pdfPage) section(title string) {
	p.fill(colBar)
	p.f.Rect(margin, p.y, contentW, barH, "F")
	p.font("B", 8.5, colWhite)
	p.text(margin+2, p.y, contentW-4, barH, title, "L")
	p.y += barH + 0.8
}

// field is a labelled value of a form.
type field struct {
	label, value string
	mono         bool // the value is an identifier, set in Courier
	col          *rgb // the value's colour, when not ink
	bold         bool
	// weight is the field's share of its row's width (default 1); labelW the width
	// of its label (default labelW).
	weight, labelW float64
}

const labelW = 31.0

// fields lays out a section's fields in rows, sharing each row's width among its
// fields by their weights.
func (p *pdfPage) fields(rows ...[]field) {
	for _, row := range rows {
		var total float64
		for _, fd := range row {
			total += cmp.Or(fd.weight, 1)
		}
		x := margin
		for _, fd := range row {
			w := contentW * cmp.Or(fd.weight, 1) / total
			p.field(x, p.y, w-3, fd)
			x += w
		}
		p.y += p.row
	}
	p.y += p.gap
}

func (p *pdfPage) field(x, y, w float64, fd field) {
	lw := cmp.Or(fd.labelW, labelW)
	p.font("", 7.2, colMuted)
	p.text(x, y, lw, p.row, fd.label, "L")
	col, style, size := colInk, "", 8.6
	if fd.col != nil {
		col = *fd.col
	}
	if fd.bold {
		style = "B"
	}
	if fd.mono {
		style, size = style+"M", 8.4
	}
	p.font(style, size, col)
	v := fd.value
	if v == "" {
		p.font("I", 8, colMuted)
		v = "not recorded"
	}
	// A long value is set smaller, down to a size still easy to read, before it
	// is cut.
	for t := pdfText(oneLine(v)); size > 7.2 && p.f.GetStringWidth(t) > w-lw; {
		size -= 0.2
		p.font(style, size, col)
	}
	p.text(x+lw, y, w-lw, p.row, v, "L")
	p.rule(x+lw, y+p.row-0.5, x+w, colRule, 0.15)
}

// checkbox draws a box, ticked or not, with its label; it returns the x after it.
func (p *pdfPage) checkbox(x, y float64, label string, ticked bool) float64 {
	const box = 2.9
	by := y + (p.row-box)/2 - 0.2
	p.draw(colInk)
	p.f.SetLineWidth(0.25)
	if ticked {
		p.fill(colBar)
		p.f.Rect(x, by, box, box, "FD")
		p.draw(colWhite)
		p.f.SetLineWidth(0.45)
		p.f.Line(x+0.6, by+1.5, x+1.25, by+2.25)
		p.f.Line(x+1.25, by+2.25, x+2.35, by+0.65)
	} else {
		p.f.Rect(x, by, box, box, "D")
	}
	style := ""
	if ticked {
		style = "B"
	}
	p.font(style, 8.4, colInk)
	s := p.fit(pdfText(oneLine(label)), margin+contentW-(x+box+1.2))
	w := p.f.GetStringWidth(s)
	p.f.SetXY(x+box+1.2, y)
	p.f.CellFormat(w, p.row, s, "", 0, "LM", false, 0, "")
	return x + box + 1.2 + w + 4.5
}

// checkboxes draws a labelled row of choices, ticking the one that is chosen; a
// chosen value that is none of them ticks "Other" and names it.
func (p *pdfPage) checkboxes(label string, choices [][2]string, chosen, display string) {
	p.font("", 7.2, colMuted)
	p.text(margin, p.y, labelW, p.row, label, "L")
	x := margin + labelW
	matched := chosen == ""
	for _, ch := range choices {
		if ch[0] == chosen {
			matched = true
		}
	}
	for _, ch := range choices {
		ticked := ch[0] == chosen
		name := ch[1]
		if ch[0] == "other" && !matched {
			ticked = true
			name = "Other: " + display
		}
		x = p.checkbox(x, p.y, name, ticked)
	}
	p.y += p.row
}

// The page, top to bottom.

func (p *pdfPage) header() {
	c := p.c
	// The QR code at the top right names the certificate.
	qx := pageW - margin - qrSize
	p.qr(qx, p.y-1, qrSize, "urn:uuid:"+c.ID)
	p.font("", 6, colMuted)
	p.text(qx, p.y-1+qrSize, qrSize, 3, "certificate ID (urn:uuid)", "C")

	w := qx - margin - 5
	org := joinNonEmpty(" \u00b7 ", c.Organization, prefixed("for ", c.Customer))
	if org != "" {
		p.font("B", 8.5, colMuted)
		p.text(margin, p.y, w, 4, org, "L")
	}
	p.y += 4.5

	titleCol := colBar
	if !c.IsCertificate() {
		titleCol = colRed
	}
	p.title(margin, w, c.Title(), titleCol)

	p.font("", 7.5, colMuted)
	p.text(margin, p.y, w, 3.8, "In the form of NIST SP 800-88 Rev. 1, Appendix G (sample certificate of sanitization)", "L")
	p.y += 5

	meta := func(label, value string, mono bool, col rgb, bold bool) {
		p.font("", 7.5, colMuted)
		p.text(margin, p.y, 26, 4.4, label, "L")
		style := ""
		if bold {
			style = "B"
		}
		if mono {
			style += "M"
		}
		p.font(style, 8.6, col)
		p.text(margin+26, p.y, w-26, 4.4, value, "L")
		p.y += 4.4
	}
	meta("Certificate ID", c.ID, true, colInk, false)
	meta("Issued", stamp(c.Issued), false, colInk, false)
	meta("Signing key", orDash(p.fingerprint), true, colInk, false)
	meta("Outcome", c.Outcome+" \u2014 "+outcomeSentence(c), false, outcomeColour(c), true)
	p.y = max(p.y, 12-1+qrSize+3) + 3
}

// title sets the document's title as large as fits, on one line or split at its
// dash onto two.
func (p *pdfPage) title(x, w float64, title string, col rgb) {
	for size := 19.0; size >= 15; size -= 0.5 {
		p.font("B", size, col)
		if p.f.GetStringWidth(pdfText(title)) <= w {
			h := size * 0.45
			p.text(x, p.y, w, h, title, "L")
			p.y += h + 0.6
			return
		}
	}
	p.font("B", 15, col)
	first, second, ok := strings.Cut(title, " \u2014 ")
	if !ok {
		p.text(x, p.y, w, 6.8, title, "L")
		p.y += 6.8
		return
	}
	p.text(x, p.y, w, 6.6, first+" \u2014", "L")
	p.text(x, p.y+6.6, w, 6.6, second, "L")
	p.y += 13.4
}

// qr draws content as a QR code of side size, one rectangle per run of dark
// modules, with the quiet zone the standard asks for.
func (p *pdfPage) qr(x, y, size float64, content string) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		p.f.SetError(fmt.Errorf("qr code: %w", err))
		return
	}
	b := code.Bounds()
	const quiet = 4
	n := b.Dx()
	m := size / float64(n+2*quiet)
	p.fill(colWhite)
	p.f.Rect(x, y, size, size, "F")
	p.fill(rgb{0, 0, 0})
	dark := func(i, j int) bool {
		r, _, _, _ := code.At(b.Min.X+i, b.Min.Y+j).RGBA()
		return r < 0x8000
	}
	for j := range b.Dy() {
		for i := 0; i < n; {
			if !dark(i, j) {
				i++
				continue
			}
			start := i
			for i < n && dark(i, j) {
				i++
			}
			// A hair of overlap keeps viewers from drawing seams between rows.
			p.f.Rect(x+float64(quiet+start)*m, y+float64(quiet+j)*m, float64(i-start)*m, m+0.02, "F")
		}
	}
}

func (p *pdfPage) banner() {
	c := p.c
	var head, body string
	col := colRed
	switch c.Status {
	case StatusCertificate:
		return
	case StatusExceptionsCert:
		col = colAmber
		head = "SANITIZED WITH EXCEPTIONS"
		body = "Some areas of the media could not be written or read back (see the bad ranges below); they may still hold data."
	case StatusUnverifiedRecord:
		head = "NOT A CERTIFICATE OF SANITIZATION \u2014 NOT READ BACK"
		body = "This signed record documents a wipe that ran to its end, but the media were never read back"
		if c.Sanitization.VerifyRequired {
			body += ", although its method requires it"
		}
		body += ". Nothing here certifies that they hold no data."
	case StatusAbortedRecord:
		head = "NOT A CERTIFICATE OF SANITIZATION \u2014 THE WIPE WAS ABORTED"
		body = "This signed record documents an interrupted attempt" + abortedShort(c) + ". Treat the media as still holding their data."
	default:
		head = "NOT A CERTIFICATE OF SANITIZATION \u2014 THE WIPE FAILED"
		body = "This signed record documents a failed attempt. Treat the media as still holding their data."
	}
	p.font("", 8, colWhite)
	lines := p.lines(body, contentW-6, 2)
	h := 6.8 + 3.6*float64(len(lines))
	p.fill(col)
	p.f.Rect(margin, p.y, contentW, h, "F")
	y := p.y + 5.8
	for _, l := range lines {
		p.f.SetXY(margin+3, y)
		p.f.CellFormat(contentW-6, 3.6, l, "", 0, "LM", false, 0, "")
		y += 3.6
	}
	p.font("B", 10.5, colWhite)
	p.text(margin+3, p.y+0.9, contentW-6, 5, head, "L")
	p.y += h + p.gap
}

func (p *pdfPage) person() {
	pb := p.c.PerformedBy
	p.section("1. Person performing sanitization")
	p.fields(
		[]field{{label: "Name", value: pb.Name, bold: true}, {label: "Title", value: pb.Title}},
		[]field{{label: "Organization", value: pb.Organization}, {label: "Location", value: pb.Location}},
		[]field{{label: "Phone / contact", value: pb.Contact}, {label: "Organization served", value: p.c.Customer}},
	)
}

func (p *pdfPage) media() {
	m, s := p.c.Media, p.c.Source
	p.section("2. Media information")
	p.fields(
		[]field{{label: "Make / vendor", value: m.Manufacturer}, {label: "Model number", value: m.Model}},
		[]field{{label: "Serial number", value: m.Serial, mono: true, bold: true}, {label: "WWN", value: m.WWN, mono: true}},
		[]field{{label: "Property / asset no.", value: m.AssetNumber, mono: true}, {label: "Firmware", value: m.Firmware}},
		[]field{{label: "Media type", value: mediaType(m)}, {label: "Capacity", value: capacity(m)}},
		[]field{{label: "Device path", value: m.Path, mono: true}},
		[]field{{label: "Source (host)", value: sourceHost(s)}},
		[]field{{label: "Data backed up", value: p.c.DataBackedUp, weight: 50},
			{label: "HPA / DCO", value: m.HiddenAreas, weight: 40, labelW: 15},
			{label: "Confidentiality", value: p.c.PreCategorization, weight: 92, labelW: 22}},
	)
}

func (p *pdfPage) sanitization() {
	c, s, v := p.c, p.c.Sanitization, p.c.Verification
	p.section("3. Sanitization details")
	types := [][2]string{{CategoryClear, "Clear"}, {CategoryPurge, "Purge"}, {CategoryDestroy, "Destroy"}}
	if s.Category == CategoryNone {
		types = append(types, [2]string{CategoryNone, "None: no NIST class claimed (custom pass sequence)"})
	}
	p.checkboxes("Method type", types, s.Category, s.Category)
	p.checkboxes("Method used", [][2]string{{"overwrite", "Overwrite"}, {"block-erase", "Block erase"},
		{"crypto-erase", "Cryptographic erase"}, {"degauss", "Degauss"}, {"other", "Other"}}, normTechnique(s.Technique), s.Technique)

	vcol := colGreen
	if !v.Verified {
		vcol = colRed
	}
	rows := [][]field{
		{{label: "Method", value: methodSummary(s), bold: true}},
		{{label: "Standard", value: orDash(strings.TrimPrefix(strings.TrimSpace(s.Standard), "-"))}},
		{{label: "Tool used", value: toolSummary(s.Tool)}, {label: "I/O mode", value: s.IOMode}},
		{{label: "Started", value: stamp(s.Started)}, {label: "Finished", value: finished(s)}},
		{{label: "Verification method", value: verificationMethod(c)}, {label: "Coverage", value: coverage(v)}},
	}
	if ch, ok := lastCheck(v); ok && v.Method == "sample" {
		rows = append(rows, []field{{label: "Sampling", value: sampling(ch)},
			{label: "Seed", value: ch.Seed.String(), mono: true}})
	}
	rows = append(rows, []field{{label: "Verification result", value: verificationResult(v), col: &vcol, bold: true},
		{label: "Confidentiality after", value: c.PostCategorization}})
	p.fields(rows...)
	p.y -= p.gap - 1 // the table follows closely
	p.passes()
	p.notes()
	p.y += p.gap
}

// passes draws the table of passes and a line of totals.
func (p *pdfPage) passes() {
	s := p.c.Sanitization
	cols := []struct {
		title string
		w     float64
		align string
	}{
		{"Pass", 10, "C"}, {"Pattern", 26, "L"}, {"Bytes written", 36, "R"}, {"Completed", 19, "C"},
		{"Bad ranges", 27, "R"}, {"Write errors", 20, "R"}, {"Read-back", 22, "C"}, {"Mismatched", 22, "R"},
	}
	row := func(y float64, cells []string, style string, col rgb, shade bool) {
		if shade {
			p.fill(colZebra)
			p.f.Rect(margin, y, contentW, p.passRow, "F")
		}
		x := margin
		for i, c := range cols {
			p.font(style, 7.8, col)
			p.text(x+1.5, y, c.w-3, p.passRow, cells[i], c.align)
			x += c.w
		}
	}
	// Header.
	p.fill(rgb{226, 231, 239})
	p.f.Rect(margin, p.y, contentW, p.passRow, "F")
	x := margin
	for _, c := range cols {
		p.font("B", 7.2, colInk)
		p.text(x+1.5, p.y, c.w-3, p.passRow, c.title, c.align)
		x += c.w
	}
	p.y += p.passRow

	checks := map[int][]Check{}
	for _, ch := range p.c.Verification.Checks {
		checks[ch.Pass] = append(checks[ch.Pass], ch)
	}
	cells := func(ps Pass) []string {
		done := "yes"
		if !ps.Completed {
			done = "NO"
		}
		readBack, mism := "\u2014", "\u2014"
		if cs := checks[ps.Number]; len(cs) > 0 {
			var outs []string
			var n int64
			for _, ch := range cs {
				outs = append(outs, ch.Outcome)
				n += ch.MismatchedBytes
			}
			readBack = strings.Join(outs, ", ")
			mism = bytesCount(n)
		}
		return []string{strconv.Itoa(ps.Number), ps.Pattern, humanize.Thousands(ps.BytesWritten), done,
			rangesSummary(ps.BadRanges), strconv.Itoa(len(ps.Errors)), readBack, mism}
	}
	shown, hidden := passRows(len(s.Passes))
	i := 0
	for _, idx := range shown {
		if idx < 0 { // the summary of the passes left out
			row(p.y, []string{"\u2026", "", "", "", "", "", "", ""}, "I", colMuted, i%2 == 1)
			p.text(margin+11.5, p.y, contentW-13, p.passRow, hiddenSummary(s.Passes[hidden[0]:hidden[1]]), "L")
		} else {
			ps := s.Passes[idx]
			col := colInk
			if !ps.Completed || len(ps.BadRanges) > 0 || len(ps.Errors) > 0 {
				col = colRed
			}
			row(p.y, cells(ps), "", col, i%2 == 1)
		}
		p.y += p.passRow
		i++
	}
	if len(s.Passes) == 0 {
		p.font("I", 7.8, colMuted)
		p.text(margin+1.5, p.y, contentW-3, p.passRow, "No pass was written.", "L")
		p.y += p.passRow
	}
	p.rule(margin, p.y, margin+contentW, colRule, 0.2)
	p.y += 0.6
	p.font("", 7.4, colInk)
	p.text(margin, p.y, contentW, 4.2, totals(p.c), "L")
	p.y += 4.4
}

// passRows chooses the passes the table shows: all of them when they fit, else the
// first ones, a summary row (-1) of the passes [hidden[0], hidden[1]), and the last.
func passRows(n int) (shown []int, hidden [2]int) {
	if n <= maxPassRows {
		for i := range n {
			shown = append(shown, i)
		}
		return shown, hidden
	}
	head := maxPassRows - 2
	for i := range head {
		shown = append(shown, i)
	}
	return append(shown, -1, n-1), [2]int{head, n - 1}
}

func hiddenSummary(ps []Pass) string {
	if len(ps) == 0 {
		return ""
	}
	var done, bad, errs int
	for _, p := range ps {
		if p.Completed {
			done++
		}
		bad += len(p.BadRanges)
		errs += len(p.Errors)
	}
	return fmt.Sprintf("%d more passes (%d\u2013%d): %d completed, %d bad ranges, %d write errors \u2014 all are listed in the signed JSON",
		len(ps), ps[0].Number, ps[len(ps)-1].Number, done, bad, errs)
}

// notes writes the wipe's error, where it was aborted, and the notes: as many
// lines of notes as leave room for the destination and the signatures.
func (p *pdfPage) notes() {
	c, s := p.c, p.c.Sanitization
	var problem []string
	if s.Error != "" {
		problem = append(problem, "Error: "+s.Error+".")
	}
	if s.AbortedAt != nil {
		problem = append(problem, "Aborted"+abortedWhere(c)+".")
	}
	if len(problem) == 0 && c.Notes == "" {
		return
	}
	const lineH = 3.6
	p.y += 0.8
	p.font("", 7.2, colMuted)
	p.text(margin, p.y, labelW, lineH, "Notes", "L")
	x, w := margin+labelW, contentW-labelW
	write := func(ls []string) {
		for _, l := range ls {
			p.f.SetXY(x, p.y)
			p.f.CellFormat(w, lineH, l, "", 0, "LM", false, 0, "")
			p.y += lineH
		}
	}
	if len(problem) > 0 {
		p.font("", 7.8, colRed)
		write(p.lines(strings.Join(problem, " "), w, 2))
	}
	if c.Notes != "" {
		room := int((footerY - 3 - signatureH - 1 - p.destinationH() - p.y) / lineH)
		p.font("", 7.8, colInk)
		write(p.lines(c.Notes, w, min(max(room, 1), maxNoteRows)))
	}
}

// destinationH is the height of the destination section.
func (p *pdfPage) destinationH() float64 {
	h := barH + 0.8 + p.row + p.gap
	if d := p.c.Destination; d.Details != "" || d.Kind == DestUnknown {
		h += p.row
	}
	return h
}

func (p *pdfPage) destination() {
	d := p.c.Destination
	p.section("4. Media destination")
	kind := d.Kind
	if kind == DestUnknown {
		kind = ""
	}
	p.checkboxes("Destination", [][2]string{{DestInternalReuse, "Internal reuse"}, {DestExternalReuse, "External reuse"},
		{DestRecycling, "Recycling facility"}, {DestManufacturer, "Manufacturer"}, {DestOther, "Other"}}, kind, kind)
	if d.Details != "" || d.Kind == DestUnknown {
		details := d.Details
		if d.Kind == DestUnknown && details == "" {
			details = "unspecified"
		}
		p.fields([]field{{label: "Details", value: details}})
	} else {
		p.y += p.gap
	}
}

func (p *pdfPage) signatures() {
	// The signatures sit at the foot of the page, as on a paper form.
	const gap = 6.0
	w := (contentW - gap) / 2
	top := footerY - 3 - signatureH
	p.contentEnd = p.y - p.gap
	p.checkFull(p.contentEnd + 1)
	p.y = top
	p.signatureBox(margin, w, signatureH, "5. Signature \u2014 person performing sanitization", &p.c.PerformedBy, true)
	p.signatureBox(margin+w+gap, w, signatureH, "6. Validation", p.c.ValidatedBy, false)
	p.y += signatureH
}

func (p *pdfPage) signatureBox(x, w, h float64, title string, who *Person, performer bool) {
	y := p.y
	p.draw(colRule)
	p.f.SetLineWidth(0.3)
	p.f.Rect(x, y, w, h, "D")
	p.fill(colBar)
	p.f.Rect(x, y, w, barH, "F")
	p.font("B", 8.5, colWhite)
	p.text(x+2, y, w-4, barH, title, "L")
	y += barH + 1
	in := x + 2.5
	iw := w - 5
	if performer {
		p.font("I", 7.2, colInk)
		for _, l := range p.lines("I attest that the information provided on this statement is accurate to the best of my knowledge.", iw, 2) {
			p.f.SetXY(in, y)
			p.f.CellFormat(iw, 3.3, l, "", 0, "LM", false, 0, "")
			y += 3.3
		}
		y += 0.6
	}
	line := func(label, value string, bold bool) {
		p.font("", 7, colMuted)
		p.text(in, y, 21, 4, label, "L")
		style := ""
		if bold {
			style = "B"
		}
		p.font(style, 8.2, colInk)
		p.text(in+21, y, iw-21, 4, value, "L")
		y += 4
	}
	if who == nil {
		p.font("I", 7.6, colMuted)
		p.text(in, y, iw, 4, "No validator is named in the signed certificate.", "L")
		y += 4.6
	} else {
		line("Name", who.Name, true)
		if !performer {
			line("Title", who.Title, false)
			line("Organization", joinNonEmpty(", ", who.Organization, who.Location), false)
			line("Contact", who.Contact, false)
		}
	}
	if performer {
		line("Signed digitally", stamp(p.c.Issued), false)
	}
	// Lines for a handwritten signature and date at the bottom of the box.
	by := p.y + h - 3.2
	p.rule(in+16, by, in+iw*0.62, colInk, 0.2)
	p.rule(in+iw*0.62+11, by, in+iw, colInk, 0.2)
	p.font("", 7, colMuted)
	p.text(in, by-4, 16, 4, "Signature", "L")
	p.text(in+iw*0.62+3, by-4, 8, 4, "Date", "L")
}

func (p *pdfPage) footer() {
	y := footerY
	p.rule(margin, y, margin+contentW, colRule, 0.3)
	y += 1.2
	p.font("", 7, colInk)
	bundle := orDash(p.bundle)
	msg := "This PDF is a rendering of the signed certificate " + bundle + ". The signed JSON is authoritative: " +
		"check it with \u201cdecom cert verify " + bundle + "\u201d or with cosign (verify-blob-attestation), " +
		"and compare its certificate ID and signing key with the ones printed here."
	for _, l := range p.lines(msg, contentW, 3) {
		p.f.SetXY(margin, y)
		p.f.CellFormat(contentW, 3.3, l, "", 0, "LM", false, 0, "")
		y += 3.3
	}
	p.font("", 6.5, colMuted)
	p.text(margin, y+0.3, contentW-20, 3.3, joinNonEmpty("  \u00b7  ", "urn:uuid:"+p.c.ID, p.fingerprint, "rendered by "+joinNonEmpty(" ", "decom", p.c.Sanitization.Tool.Version)), "L")
	p.text(margin+contentW-20, y+0.3, 20, 3.3, "Page 1 of 1", "R")
}

// Wording of values.

func outcomeSentence(c *Certificate) string {
	switch c.Outcome {
	case OutcomeSanitized:
		return "the media were sanitized as described below"
	case OutcomeExceptions:
		return "sanitized except for the areas listed below"
	case OutcomeUnverified:
		return "written, but NOT read back; not certified as sanitized"
	case OutcomeAborted:
		return "the wipe was aborted; the media are NOT sanitized"
	}
	return "the wipe failed; the media are NOT sanitized"
}

func outcomeColour(c *Certificate) rgb {
	switch c.Outcome {
	case OutcomeSanitized:
		return colGreen
	case OutcomeExceptions:
		return colAmber
	}
	return colRed
}

func abortedWhere(c *Certificate) string {
	a := c.Sanitization.AbortedAt
	if a == nil {
		return ""
	}
	s := fmt.Sprintf(" in pass %d at byte %s", a.Pass, humanize.Thousands(uint64(max(a.Offset, 0))))
	if c.Media.SizeBytes > 0 {
		s += fmt.Sprintf(" of %s (%.1f%%)", humanize.Thousands(c.Media.SizeBytes), 100*float64(a.Offset)/float64(c.Media.SizeBytes))
	}
	return s
}

// abortedShort says briefly where an aborted wipe stopped.
func abortedShort(c *Certificate) string {
	a := c.Sanitization.AbortedAt
	if a == nil {
		return ""
	}
	if c.Media.SizeBytes == 0 {
		return fmt.Sprintf(", stopped in pass %d", a.Pass)
	}
	return fmt.Sprintf(", stopped in pass %d at %.1f%% of the media", a.Pass, 100*float64(a.Offset)/float64(c.Media.SizeBytes))
}

func mediaType(m Media) string {
	kind := m.Kind
	if m.Partition > 0 {
		kind = fmt.Sprintf("partition %d", m.Partition)
	}
	sectors := ""
	switch {
	case m.LogicalSectorSize > 0 && m.PhysicalSectorSize > 0 && m.LogicalSectorSize != m.PhysicalSectorSize:
		sectors = fmt.Sprintf("%d/%d B sectors", m.LogicalSectorSize, m.PhysicalSectorSize)
	case m.LogicalSectorSize > 0:
		sectors = fmt.Sprintf("%d B sectors", m.LogicalSectorSize)
	}
	return joinNonEmpty(", ", strings.ToUpper(m.MediaType), joinNonEmpty(" ", strings.ToUpper(m.Transport), kind), sectors)
}

func capacity(m Media) string {
	if m.SizeBytes == 0 {
		return ""
	}
	return humanize.Decimal(m.SizeBytes) + " (" + humanize.Thousands(m.SizeBytes) + " bytes)"
}

func sourceHost(s Source) string {
	system := joinNonEmpty(" ", s.SystemVendor, s.SystemProduct)
	return joinNonEmpty(", ", s.Hostname, system, prefixed("serial ", s.SystemSerial), prefixed("UUID ", s.SystemUUID))
}

func normTechnique(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	t = strings.NewReplacer("_", "-", " ", "-").Replace(t)
	switch t {
	case "crypto-erase", "cryptographic-erase", "crypto-scramble":
		return "crypto-erase"
	}
	return t
}

func methodSummary(s Sanitization) string {
	title := s.MethodTitle
	if title == "" {
		title = s.Method
	} else if s.Method != "" {
		title += " (" + s.Method + ")"
	}
	n := len(s.Passes)
	parts := []string{title, plural(n, "pass", "passes") + " written"}
	if s.Rounds > 1 {
		parts = append(parts, plural(s.Rounds, "round", "rounds"))
	}
	if s.FinalBlank {
		parts = append(parts, "final blank pass")
	}
	return strings.Join(parts, "; ")
}

func toolSummary(t Tool) string {
	commit := t.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	return joinNonEmpty(" ", t.Name, t.Version, prefixed("commit ", commit))
}

func finished(s Sanitization) string {
	if s.Finished.IsZero() {
		return ""
	}
	f := stamp(s.Finished)
	if !s.Started.IsZero() && s.Finished.After(s.Started) {
		f += " (" + duration(s.Finished.Sub(s.Started)) + ")"
	}
	return f
}

func lastCheck(v Verification) (Check, bool) {
	if len(v.Checks) == 0 {
		return Check{}, false
	}
	return v.Checks[len(v.Checks)-1], true
}

func verificationMethod(c *Certificate) string {
	v := c.Verification
	if v.Method == "none" {
		if c.Sanitization.VerifyRequired {
			return "none: the media were not read back, although the method requires it"
		}
		return "none: the media were not read back"
	}
	return v.Method + " (" + plural(len(v.Checks), "pass", "passes") + " checked)"
}

func coverage(v Verification) string {
	ch, ok := lastCheck(v)
	if !ok {
		return ""
	}
	s := percent(ch.Coverage) + " read"
	if ch.CoverageRequested > 0 && v.Method == "sample" {
		s += ", " + percent(ch.CoverageRequested) + " requested"
	}
	return s
}

func sampling(ch Check) string {
	var parts []string
	if ch.Subsections > 0 {
		parts = append(parts, humanize.Thousands(uint64(ch.Subsections))+" subsections")
	}
	if ch.SampleBlockSize > 0 {
		parts = append(parts, "blocks of "+humanize.BinaryExact(uint64(ch.SampleBlockSize)))
	}
	return strings.Join(parts, ", ")
}

func verificationResult(v Verification) string {
	var mism, readErrs int64
	for _, ch := range v.Checks {
		mism += ch.MismatchedBytes
		readErrs += int64(len(ch.ReadErrors))
	}
	verdict := "NOT verified"
	if v.Verified {
		verdict = "verified"
	}
	if v.Method == "none" || len(v.Checks) == 0 {
		return verdict
	}
	s := verdict + ": " + bytesCount(mism) + " mismatched"
	if readErrs > 0 {
		s += ", " + plural(int(readErrs), "read error", "read errors")
	}
	return s
}

func totals(c *Certificate) string {
	var done, bad, errs int
	var badBytes int64
	for _, ps := range c.Sanitization.Passes {
		if ps.Completed {
			done++
		}
		bad += len(ps.BadRanges)
		errs += len(ps.Errors)
		for _, r := range ps.BadRanges {
			badBytes += r.Length
		}
	}
	var mism, readErrs, read int64
	for _, ch := range c.Verification.Checks {
		mism += ch.MismatchedBytes
		readErrs += int64(len(ch.ReadErrors))
		read += ch.BytesRead
	}
	s := fmt.Sprintf("Totals: %d of %s completed \u00b7 %s (%s) not written \u00b7 %s \u00b7 ",
		done, plural(len(c.Sanitization.Passes), "pass", "passes"), plural(bad, "bad range", "bad ranges"),
		humanize.Decimal(uint64(max(badBytes, 0))), plural(errs, "write error", "write errors"))
	if len(c.Verification.Checks) == 0 {
		return s + "not read back"
	}
	return s + fmt.Sprintf("read back: %s in %s, %s mismatched, %s", humanize.Decimal(uint64(max(read, 0))),
		plural(len(c.Verification.Checks), "check", "checks"), bytesCount(mism), plural(int(readErrs), "read error", "read errors"))
}

func rangesSummary(rs []Range) string {
	if len(rs) == 0 {
		return "0"
	}
	var n int64
	for _, r := range rs {
		n += r.Length
	}
	return fmt.Sprintf("%d (%s)", len(rs), humanize.Decimal(uint64(max(n, 0))))
}

func bytesCount(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	return humanize.Thousands(uint64(max(n, 0))) + " bytes"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func duration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm %02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

func percent(f float64) string {
	return strconv.FormatFloat(100*f, 'f', -1, 64) + "%"
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func prefixed(prefix, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return prefix + s
}

func orDash(s string) string {
	if s == "" {
		return "\u2014"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// pdfText translates UTF-8 into Windows-1252, the encoding of the PDF core fonts.
// Characters it lacks become their nearest Latin letters where there is one
// ("Łódź" → "Lódz"), or "?"; control characters other than newline are dropped.
func pdfText(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\n':
			b = append(b, '\n')
		case r == '\t':
			b = append(b, ' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		case r < 0x80 || (r >= 0xa0 && r <= 0xff):
			b = append(b, byte(r))
		case r == utf8.RuneError:
			b = append(b, '?')
		default:
			if c, ok := cp1252[r]; ok {
				b = append(b, c)
			} else if t, ok := translit(r); ok {
				b = append(b, t...)
			} else {
				b = append(b, '?')
			}
		}
	}
	return string(b)
}

// cp1252 maps the characters Windows-1252 has in 0x80–0x9F, where Latin-1 has
// control codes.
var cp1252 = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b,
	'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}

// latinExtA is the base letter of each character of Unicode's Latin Extended-A
// block, U+0100 to U+017F ("Ā" → "A"); a space marks one handled elsewhere.
const latinExtA = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi  JjKkkLlLlLlLlLlNnNnNnnNnOoOoOo  RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs"

// translit gives an ASCII stand-in for a character Windows-1252 lacks.
func translit(r rune) (string, bool) {
	if r >= 0x100 && r <= 0x17f {
		if c := latinExtA[r-0x100]; c != ' ' {
			return string(c), true
		}
	}
	switch r {
	case 'Ĳ':
		return "IJ", true
	case 'ĳ':
		return "ij", true
	case 'Ș', 'Ş':
		return "S", true
	case 'ș', 'ş':
		return "s", true
	case 'Ț', 'Ţ':
		return "T", true
	case 'ț', 'ţ':
		return "t", true
	case 'Ǎ':
		return "A", true
	case 'ǎ':
		return "a", true
	case 'Ǐ':
		return "I", true
	case 'ǐ':
		return "i", true
	case 'Ǒ', 'Ơ':
		return "O", true
	case 'ǒ', 'ơ':
		return "o", true
	case 'Ǔ', 'Ư':
		return "U", true
	case 'ǔ', 'ư':
		return "u", true
	case 'ẞ':
		return "SS", true
	case '‐', '‑', '‒', '−', '⁃':
		return "-", true
	case '―':
		return "\x97", true
	case '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u202f', '\u205f', '\u3000':
		return " ", true
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return "", true
	case '′':
		return "'", true
	case '″':
		return "\"", true
	case '≤':
		return "<=", true
	case '≥':
		return ">=", true
	case '≠':
		return "!=", true
	case '→':
		return "->", true
	case '←':
		return "<-", true
	case '✓', '✔':
		return "yes", true
	case '✗', '✘':
		return "no", true
	}
	return "", false
}
