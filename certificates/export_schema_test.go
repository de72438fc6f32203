package certificates

// SetSignedHook lets the external tests see every statement Sign signs.
func SetSignedHook(f func(statement []byte)) { signedHook = f }

// Test certificates the in-package tests build, for the schema tests.
var (
	SigTestCertificate     = sigTestCertificate
	PDFTestCertificate     = pdfTestCertificate
	PDFGutmann             = pdfGutmann
	PDFFailed              = pdfFailed
	PDFAborted             = pdfAborted
	PDFLongest             = pdfLongest
	DestroyTestCertificate = destroyTestCertificate
)
