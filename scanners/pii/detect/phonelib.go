package detect

import (
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// National phone numbers (a trunk 0, or an area code in parentheses) have
// no shape that tells them from other numbers; libphonenumber's numbering
// plans (github.com/nyaruka/phonenumbers) do. It is slow (regular
// expressions per region), so it only sees candidates the byte scanner
// has already shaped, and its answers are cached by the number's first
// digits and length: numbers of one plan that share those share validity
// in every plan gatehouse has seen.

// phoneRegions are tried in order for a national number.
var phoneRegions = []string{"DE", "GB", "FR", "IN", "BR", "JP", "ES", "IT", "NL", "PT", "AT", "CH", "BE", "PL", "IE", "US"}

const phoneCacheSize = 1 << 12

// phoneCache holds (key | 2 | valid) per slot; key has its low two bits clear.
var phoneCache [phoneCacheSize]atomic.Uint64

// nationalPhoneValid reports whether the digits d (a national number,
// with its trunk prefix if written) are a valid number in one of
// phoneRegions.
func nationalPhoneValid(d []byte) bool {
	if len(d) < 7 || len(d) > 15 {
		return false
	}
	// FNV-1a over the first 7 digits and the length.
	h := uint64(14695981039346656037)
	for _, c := range d[:min(7, len(d))] {
		h = (h ^ uint64(c)) * 1099511628211
	}
	h = (h ^ uint64(len(d))) * 1099511628211
	key := h &^ 3
	slot := &phoneCache[h>>52&(phoneCacheSize-1)]
	if e := slot.Load(); e&^3 == key && e&2 != 0 {
		return e&1 == 1
	}
	var s [16]byte
	for k, c := range d {
		s[k] = c + '0'
	}
	num := string(s[:len(d)])
	valid := false
	var pn phonenumbers.PhoneNumber
	for _, r := range phoneRegions {
		if err := phonenumbers.ParseToNumber(num, r, &pn); err == nil && phonenumbers.IsValidNumberForRegion(&pn, r) {
			valid = true
			break
		}
	}
	e := key | 2
	if valid {
		e |= 1
	}
	slot.Store(e)
	return valid
}
