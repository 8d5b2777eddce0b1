package detect

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Redact renders a match for reports without the personal data: the
// value's shape stays (separators, length), its content does not.
//
//	EMAIL_ADDRESS  j***@e***.com            CREDIT_CARD  ****-****-****-1111
//	PHONE_NUMBER   +* (***) ***-**67        IBAN_CODE    DE** **** **** **** **30 00
//	US_SSN         ***-**-1234              IP_ADDRESS   192.***.***.*** / 2001:***
//	PERSON         A*** L***                secrets      their public prefix only
//	DATE_OF_BIRTH  ****-**-**               MAC_ADDRESS  **:**:**:**:**:**
//	national ids, passport and licence numbers: all but the last two characters masked
func Redact(e Entity, v []byte) string {
	switch e {
	case Email:
		at := bytes.LastIndexByte(v, '@')
		dot := bytes.LastIndexByte(v, '.')
		if at <= 0 || dot <= at+1 {
			return "***"
		}
		return firstRune(v) + "***@" + firstRune(v[at+1:]) + "***" + string(v[dot:])
	case CreditCard:
		return "****-****-****-" + lastDigits(v, 4)
	case SSN:
		return maskKeepLast(v, 4, isDigit)
	case Phone:
		return maskKeepLast(v, 2, isDigit)
	case IBAN:
		if len(v) < 6 {
			return "***"
		}
		return string(v[:2]) + maskKeepLast(v[2:], 4, isAlnum)
	case IP:
		if i := bytes.IndexByte(v, '.'); i > 0 && bytes.IndexByte(v, ':') < 0 {
			return string(v[:i]) + ".***.***.***"
		}
		if i := bytes.IndexByte(v, ':'); i > 0 {
			return string(v[:i]) + ":***"
		}
		return "***"
	case Person:
		var sb strings.Builder
		for i, w := range strings.Fields(string(v)) {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(firstRune([]byte(w)))
			sb.WriteString("***")
		}
		if sb.Len() == 0 {
			return "***"
		}
		return sb.String()
	case PrivateKey:
		// the "-----BEGIN ... PRIVATE KEY-----" header names the kind of
		// key and holds no key material
		if i := bytes.Index(v, []byte("KEY-----")); i >= 0 {
			return string(v[:i+8])
		}
		if i := bytes.Index(v, []byte("BLOCK-----")); i >= 0 {
			return string(v[:i+10])
		}
		return "-----BEGIN PRIVATE KEY-----"
	case AWSAccessKey:
		if len(v) < 4 {
			return "***"
		}
		return string(v[:4]) + strings.Repeat("*", max(len(v)-4, 1))
	case GCPAPIKey:
		return "AIza" + strings.Repeat("*", max(len(v)-4, 1))
	case GitHubToken, SlackToken:
		if i := bytes.IndexAny(v, "_-"); i > 0 && i < 12 {
			return string(v[:i+1]) + "***"
		}
		return "***"
	case GCPServiceAccountKey:
		return `{"type":"service_account","private_key":"***"}`
	case DateOfBirth, MACAddress:
		return maskKeepLast(v, 0, isAlnum) // "****-**-**", "**:**:**:**:**:**"
	case USPassport, USDriverLicense, UKNINO, INAadhaar, BRCPF, JPMyNumber, DETaxID, FRNIR, ESNIF, ESNIE,
		ITFiscalCode, NLBSN:
		return maskKeepLast(v, 2, isAlnum) // "***.***.***-09"
	}
	return "***"
}

func firstRune(v []byte) string {
	_, n := utf8.DecodeRune(v)
	if n == 0 {
		return ""
	}
	return string(v[:n])
}

// maskKeepLast replaces every byte for which keep is true with '*', except
// the last n such bytes; other bytes (separators) stay. When the value has
// no more than n such bytes, all of them are masked.
func maskKeepLast(v []byte, n int, keep func(byte) bool) string {
	total := 0
	for _, c := range v {
		if keep(c) {
			total++
		}
	}
	if total <= n {
		n = 0
	}
	out := make([]byte, len(v))
	seen := 0
	for i, c := range v {
		if keep(c) {
			seen++
			if seen <= total-n {
				c = '*'
			}
		}
		out[i] = c
	}
	return string(out)
}

func lastDigits(v []byte, n int) string {
	var out []byte
	for i := len(v) - 1; i >= 0 && len(out) < n; i-- {
		if isDigit(v[i]) {
			out = append(out, v[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}
