package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// MaxReviewBytes bounds an AdmissionReview body: the API server sends at
// most a few MiB (objects are bounded by etcd's request size).
const MaxReviewBytes = 8 << 20

// The AdmissionReview version spoken (admissionReviewVersions: [v1]).
const (
	reviewAPIVersion = "admission.k8s.io/v1"
	reviewKind       = "AdmissionReview"
)

// ErrBadReview is wrapped by every DecodeReview error: the body is not an
// AdmissionReview gatehouse can answer.
var ErrBadReview = errors.New("bad AdmissionReview")

// DecodeReview reads one AdmissionReview of apiVersion admission.k8s.io/v1
// from r, at most limit bytes (MaxReviewBytes when limit <= 0). Errors wrap
// ErrBadReview and say what is wrong. When the request's uid could be read
// the review is returned with the error, so that the answer can still be a
// well-formed denial the API server matches to its request.
func DecodeReview(r io.Reader, limit int64) (*admissionv1.AdmissionReview, error) {
	if limit <= 0 {
		limit = MaxReviewBytes
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %v", ErrBadReview, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrBadReview, limit)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrBadReview)
	}
	var rv admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &rv); err != nil {
		// Fall back to the uid alone, so the denial can be matched.
		var probe struct {
			Request struct {
				UID types.UID `json:"uid"`
			} `json:"request"`
		}
		if json.Unmarshal(body, &probe) == nil && probe.Request.UID != "" {
			return &admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{UID: probe.Request.UID}}, fmt.Errorf("%w: %v", ErrBadReview, err)
		}
		return nil, fmt.Errorf("%w: malformed JSON: %v", ErrBadReview, err)
	}
	if rv.Request == nil || rv.Request.UID == "" {
		if rv.Request == nil {
			return nil, fmt.Errorf("%w: no request", ErrBadReview)
		}
		return nil, fmt.Errorf("%w: request has no uid", ErrBadReview)
	}
	if rv.APIVersion != reviewAPIVersion || rv.Kind != reviewKind {
		return &rv, fmt.Errorf("%w: apiVersion %q kind %q: want apiVersion %s kind %s (admissionReviewVersions: [v1])", ErrBadReview, rv.APIVersion, rv.Kind, reviewAPIVersion, reviewKind)
	}
	return &rv, nil
}

// EncodeResponse writes the AdmissionReview answering request uid.
func EncodeResponse(w io.Writer, uid types.UID, resp *admissionv1.AdmissionResponse) error {
	if resp == nil {
		resp = denyResponse(http.StatusInternalServerError, "gatehouse: no decision was made")
	}
	out := *resp
	out.UID = uid
	return json.NewEncoder(w).Encode(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: reviewAPIVersion, Kind: reviewKind},
		Response: &out,
	})
}

// ErrorResponse is the answer to a request that could not be reviewed
// (DecodeReview's errors): a denial naming why.
func ErrorResponse(err error) *admissionv1.AdmissionResponse {
	if err == nil {
		err = ErrBadReview
	}
	return denyResponse(http.StatusBadRequest, "gatehouse: "+err.Error())
}

func denyResponse(code int32, msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reasonFor(code), Message: msg,
	}}
}

func reasonFor(code int32) metav1.StatusReason {
	switch code {
	case http.StatusForbidden:
		return metav1.StatusReasonForbidden
	case http.StatusBadRequest:
		return metav1.StatusReasonBadRequest
	}
	return metav1.StatusReasonInternalError
}

func allowResponse(msg string) *admissionv1.AdmissionResponse {
	r := &admissionv1.AdmissionResponse{Allowed: true}
	if msg != "" {
		r.Result = &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK, Message: msg}
	}
	return r
}
