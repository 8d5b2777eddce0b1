// Package httpstatus records the status code a handler wrote, for access
// logs and metrics.
package httpstatus

import "net/http"

// Writer wraps a ResponseWriter and remembers the first status written.
type Writer struct {
	http.ResponseWriter
	code int
}

// Wrap returns w wrapped.
func Wrap(w http.ResponseWriter) *Writer { return &Writer{ResponseWriter: w} }

func (w *Writer) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Writer) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Written reports whether the handler wrote a status or a body yet.
func (w *Writer) Written() bool { return w.code != 0 }

// Status is the status written, 200 when the handler wrote none.
func (w *Writer) Status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
