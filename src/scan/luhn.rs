//! The Luhn (mod 10) check digit, and the GS1 check digit used to recognise JAN/EAN-13
//! barcodes that would otherwise pass for 13-digit PANs.

/// Whether ASCII digits pass the Luhn check: from the rightmost digit, double every
/// second digit, subtract 9 when above 9, and the sum must be a multiple of 10.
pub fn is_valid(digits: &[u8]) -> bool {
    !digits.is_empty() && checksum(digits) == 0
}

/// The Luhn sum modulo 10 of ASCII digits (0 means valid).
pub fn checksum(digits: &[u8]) -> u8 {
    const DOUBLED: [u8; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let mut sum: u32 = 0;
    for (i, &b) in digits.iter().rev().enumerate() {
        let d = b.wrapping_sub(b'0');
        debug_assert!(d < 10);
        sum += u32::from(if i % 2 == 1 { DOUBLED[usize::from(d % 10)] } else { d % 10 });
    }
    (sum % 10) as u8
}

/// The digit that, appended to `body`, makes it Luhn-valid.
pub fn check_digit_for(body: &[u8]) -> u8 {
    // Appending 0 shifts the doubling; the missing amount is the check digit.
    let mut with_zero = body.to_vec();
    with_zero.push(b'0');
    b'0' + (10 - checksum(&with_zero)) % 10
}

/// Whether 13 ASCII digits form a valid GS1 (EAN-13/JAN) code: weights 1,3,1,3… from the
/// left over the first 12 digits, and the 13th makes the sum a multiple of 10.
pub fn is_gs1_valid(digits: &[u8]) -> bool {
    if digits.len() != 13 {
        return false;
    }
    let sum: u32 =
        digits[..12].iter().enumerate().map(|(i, &b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    (10 - sum % 10) % 10 == u32::from(digits[12] - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert!(is_valid(b"4111111111111111"));
        assert!(is_valid(b"378282246310005"));
        assert!(!is_valid(b"4111111111111112"));
        assert!(!is_valid(b"4242424242424241"));
        assert_eq!(check_digit_for(b"411111111111111"), b'1');
    }

    #[test]
    fn gs1() {
        // A JAN code printed on Japanese retail goods (49 = Japan).
        assert!(is_gs1_valid(b"4901234567894"));
        assert!(!is_gs1_valid(b"4901234567895"));
    }

    proptest! {
        #[test]
        fn appended_check_digit_is_valid(body in proptest::collection::vec(b'0'..=b'9', 11..19)) {
            let mut d = body.clone();
            d.push(check_digit_for(&body));
            prop_assert!(is_valid(&d));
            let last = d.len() - 1;
            d[last] = b'0' + (d[last] - b'0' + 1) % 10;
            prop_assert!(!is_valid(&d));
        }
    }
}
