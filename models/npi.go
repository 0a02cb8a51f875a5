package models

// ValidNPI reports whether s is a well-formed National Provider Identifier: ten digits whose
// last is the Luhn check digit computed over the prefix "80840" followed by the first nine.
// It does not say whether the NPI is assigned to anyone.
func ValidNPI(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return luhnCheckDigit("80840"+s[:9]) == s[9]-'0'
}

// luhnCheckDigit returns the digit that, appended to digits, makes the whole pass the Luhn
// check. Counting from the check digit's position, every second digit is doubled, so the
// rightmost digit of digits is doubled.
func luhnCheckDigit(digits string) byte {
	sum := 0
	double := true
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte((10 - sum%10) % 10)
}
