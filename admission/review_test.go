package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const goodReview = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"ml","operation":"CREATE","userInfo":{"username":"alice"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}}}`

func TestDecodeReview(t *testing.T) {
	rv, err := DecodeReview(strings.NewReader(goodReview), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Request.UID != "u-1" || rv.Request.Kind.Kind != "Pod" || len(rv.Request.Object.Raw) == 0 || rv.Request.UserInfo.Username != "alice" {
		t.Fatalf("decoded %+v", rv.Request)
	}
	tests := []struct {
		name    string
		body    string
		limit   int64
		wantUID string
		msg     string
	}{
		{"empty", "", 0, "", "empty body"},
		{"malformed", `{"apiVersion":`, 0, "", "malformed JSON"},
		{"not JSON", `<xml/>`, 0, "", "malformed JSON"},
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, 0, "", "no request"},
		{"no uid", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}`, 0, "", "no uid"},
		{"v1beta1", strings.Replace(goodReview, "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1), 0, "u-1", `apiVersion "admission.k8s.io/v1beta1"`},
		{"wrong kind", strings.Replace(goodReview, `"kind":"AdmissionReview"`, `"kind":"Pod"`, 1), 0, "u-1", `kind "Pod"`},
		{"too large", goodReview, 100, "", "larger than 100 bytes"},
		{"wrong field type, uid readable", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-2","operation":7}}`, 0, "u-2", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv, err := DecodeReview(strings.NewReader(tt.body), tt.limit)
			if !errors.Is(err, ErrBadReview) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %v, want ErrBadReview containing %q", err, tt.msg)
			}
			got := ""
			if rv != nil && rv.Request != nil {
				got = string(rv.Request.UID)
			}
			if got != tt.wantUID {
				t.Fatalf("uid %q, want %q", got, tt.wantUID)
			}
		})
	}
}

func TestEncodeResponse(t *testing.T) {
	for _, resp := range []*admissionv1.AdmissionResponse{ErrorResponse(errors.New("bad: x")), allowResponse(""), nil} {
		var b bytes.Buffer
		if err := EncodeResponse(&b, "u-9", resp); err != nil {
			t.Fatal(err)
		}
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(b.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil || out.Response.UID != "u-9" {
			t.Fatalf("encoded %s", b.String())
		}
		if resp != nil && out.Response.Allowed != resp.Allowed {
			t.Fatalf("allowed changed: %s", b.String())
		}
		if !out.Response.Allowed && (out.Response.Result == nil || out.Response.Result.Message == "") {
			t.Fatalf("a denial without a reason: %s", b.String())
		}
	}
	if r := ErrorResponse(nil); r.Allowed || r.Result.Message != "gatehouse: bad AdmissionReview" {
		t.Fatalf("nil error response %+v", r.Result)
	}
	if r := ErrorResponse(errors.New("x")); r.Result.Code != 400 || r.Result.Status != metav1.StatusFailure {
		t.Fatalf("error response %+v", r.Result)
	}
}

// FuzzDecodeReview: any body decodes or is ErrBadReview, never a panic;
// whatever decodes has a request with a uid, and an answer always encodes.
func FuzzDecodeReview(f *testing.F) {
	f.Add([]byte(goodReview))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","object":{"spec":[]}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`))
	f.Add([]byte(`{"request":{"uid":"x","operation":[]}}`))
	f.Add([]byte(`[[[[[[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rv, err := DecodeReview(bytes.NewReader(body), 1<<16)
		if err != nil {
			if !errors.Is(err, ErrBadReview) {
				t.Fatalf("unclassified %v", err)
			}
			if rv != nil && (rv.Request == nil || rv.Request.UID == "") {
				t.Fatal("a review returned with an error must carry the uid")
			}
			return
		}
		if rv.Request == nil || rv.Request.UID == "" {
			t.Fatal("decoded without a request uid")
		}
		if err := EncodeResponse(&bytes.Buffer{}, rv.Request.UID, allowResponse("")); err != nil {
			t.Fatal(err)
		}
	})
}
