package certificates

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/decom-project/decom/internal/humanize"
)

// The sections of the page, top to bottom, and the colour of the outcome.

func (p *pdfPage) header() {
	c := p.c
	// The QR code at the top right leads to the certificate's page on the
	// registry when one is known to hold it, and names the certificate otherwise.
	qx := pageW - margin - qrSize
	content, caption := "urn:uuid:"+c.ID, "certificate ID (urn:uuid)"
	if p.url != "" {
		content, caption = p.url, "certificate on the registry"
	}
	p.qr(qx, p.y-1, qrSize, content)
	p.font("", 6, colMuted)
	p.text(qx, p.y-1+qrSize, qrSize, 3, caption, "C")

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
		// An identifier (a key's fingerprint is 71 characters) is set smaller
		// rather than cut.
		p.fitFont(style, 8.6, 6.4, col, value, w-26)
		p.text(margin+26, p.y, w-26, 4.4, value, "L")
		p.y += 4.4
	}
	meta("Certificate ID", c.ID, true, colInk, false)
	meta("Issued", stamp(c.Issued), false, colInk, false)
	meta("Signing key", orDash(p.fingerprint), true, colInk, false)
	meta("Outcome", c.Outcome+" \u2014 "+outcomeSentence(c), false, outcomeColour(c), true)
	p.y = max(p.y, 12-1+qrSize+3) + 3
}

func (p *pdfPage) banner() {
	c := p.c
	var head, body string
	col := colRed
	switch c.Status {
	case StatusCertificate, StatusDestructionCert:
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
	if p.c.Destruction != nil {
		p.section("1. Person performing destruction")
	} else {
		p.section("1. Person performing sanitization")
	}
	p.fields(
		[]field{{label: "Name", value: pb.Name, bold: true}, {label: "Title", value: pb.Title}},
		[]field{{label: "Organization", value: pb.Organization}, {label: "Location", value: pb.Location}},
		[]field{{label: "Phone / contact", value: pb.Contact}, {label: "Organization served", value: p.c.Customer}},
	)
}

func (p *pdfPage) media() {
	m, s := p.c.Media, p.c.Source
	p.section("2. Media information")
	// The job (decom wipe --job) shares the host's row, only when there is one.
	source := []field{{label: "Source (host)", value: sourceHost(s)}}
	if job := p.c.Sanitization.Job; job != "" {
		source = append(source, field{label: "Job", value: job, bold: true})
	}
	p.fields(
		[]field{{label: "Make / vendor", value: m.Manufacturer}, {label: "Model number", value: m.Model}},
		[]field{{label: "Serial number", value: m.Serial, mono: true, bold: true}, {label: "WWN", value: m.WWN, mono: true}},
		[]field{{label: "Property / asset no.", value: m.AssetNumber, mono: true}, {label: "Firmware", value: m.Firmware}},
		[]field{{label: "Media type", value: mediaType(m)}, {label: "Capacity", value: capacity(m)}},
		[]field{{label: "Device path", value: m.Path, mono: true}},
		source,
		[]field{{label: "Data backed up", value: p.c.DataBackedUp, weight: 50},
			{label: "HPA / DCO", value: m.HiddenAreas, weight: 40, labelW: 15},
			{label: "Confidentiality", value: p.c.PreCategorization, weight: 92, labelW: 22}},
	)
	if m.Health != nil {
		p.fields([]field{{label: "Health before wipe", value: m.Health.Summary(), col: healthColour(m.Health)}})
	}
}

// healthColour marks a failing drive's health in red, a warning in amber.
func healthColour(h *Health) *rgb {
	var c rgb
	switch h.Status {
	case "failing":
		c = colRed
	case "warning":
		c = colAmber
	default:
		return nil
	}
	return &c
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
	if d := c.Destruction; d != nil {
		rows = destructionRows(c, d)
	} else {
		rows = append(rows, []field{{label: "Verification result", value: verificationResult(v), col: &vcol, bold: true},
			{label: "Confidentiality after", value: c.PostCategorization}})
	}
	p.fields(rows...)
	p.y -= p.gap - 1 // the table follows closely
	if c.Destruction == nil {
		p.passes()
	}
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
	resumed := c.InterruptionsText()
	if len(problem) == 0 && c.Notes == "" && resumed == "" {
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
	if resumed != "" {
		p.font("", 7.8, colInk)
		write(p.lines(resumed, w, 2))
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
	// The signatures follow the content closely, as on a paper form, and never
	// reach below the foot of the page; what room is left stays under them.
	const gap = 6.0
	w := (contentW - gap) / 2
	p.contentEnd = p.y - p.gap
	p.checkFull(p.contentEnd + 1)
	p.y = min(p.contentEnd+signatureGap, footerY-3-signatureH)
	p.signaturesTop = p.y
	performer, validation := "5. Signature \u2014 person performing sanitization", "6. Validation"
	if p.c.Destruction != nil {
		performer, validation = "5. Signature \u2014 person performing destruction", "6. Validation \u2014 witness"
	}
	p.signatureBox(margin, w, signatureH, performer, &p.c.PerformedBy, true)
	p.signatureBox(margin+w+gap, w, signatureH, validation, p.c.ValidatedBy, false)
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
		p.f.CellFormat(contentW, footerLineH, l, "", 0, "LM", false, 0, "")
		y += footerLineH
	}
	// Two lines of identifiers, each whole: the certificate (its page on the
	// registry, or its ID) and the renderer, then the signing key.
	ident := p.url
	if ident == "" {
		ident = "urn:uuid:" + p.c.ID
	}
	y += 0.3
	p.fitFont("", 6.5, 5, colMuted, ident+footerSep+p.rendered(), contentW-20)
	p.text(margin, y, contentW-20, footerLineH, ident+footerSep+p.rendered(), "L")
	p.font("", 6.5, colMuted)
	p.text(margin+contentW-20, y, 20, footerLineH, "Page 1 of 1", "R")
	if p.fingerprint != "" {
		y += footerLineH
		p.fitFont("", 6.5, 5, colMuted, "Signing key "+p.fingerprint, contentW)
		p.text(margin, y, contentW, footerLineH, "Signing key "+p.fingerprint, "L")
	}
}

const footerSep = "  \u00b7  "

// rendered names the software that rendered the page.
func (p *pdfPage) rendered() string {
	return "rendered by " + joinNonEmpty(" ", "decom", p.c.Sanitization.Tool.Version)
}

func outcomeColour(c *Certificate) rgb {
	switch c.Outcome {
	case OutcomeSanitized, OutcomeDestroyed:
		return colGreen
	case OutcomeExceptions:
		return colAmber
	}
	return colRed
}
