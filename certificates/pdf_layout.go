package certificates

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// Page geometry, colours, and the drawing primitives the sections are made of.

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
	// footerY is where the footer starts: its rule, three lines of text and two
	// of identifiers, ending about 5 mm above the paper's edge.
	footerY     = pageH - 22
	footerLineH = 3.2
	// signatureH is the height of the signature and validation boxes.
	signatureH = 30.0
	// signatureGap is the space between the content and the signatures.
	signatureGap = 5.0

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

// fitFont sets the font at the largest size from size down to least at which s
// (UTF-8) fits width w on one line; at least, text still cuts it.
func (p *pdfPage) fitFont(style string, size, least float64, col rgb, s string, w float64) {
	t := pdfText(oneLine(s))
	p.font(style, size, col)
	for size > least && p.f.GetStringWidth(t) > w {
		size = max(size-0.2, least)
		p.font(style, size, col)
	}
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
		if ticked {
			p.ticked = append(p.ticked, label+": "+name)
		}
	}
	p.y += p.row
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
