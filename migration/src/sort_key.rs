//! An order-preserving text encoding of exact decimals.
//!
//! SQLite has no exact decimal type: money is stored as the decimal's own text, which does
//! not sort numerically, and the `decimal` collation that does cannot back an index that
//! other SQLite clients (the `sqlite3` shell) can still write to. So columns that the API
//! orders or range-filters by keep this key beside them: plain text whose byte order is
//! the numeric order, served by an ordinary index. Equal numbers (`1.10`, `1.1`) have the
//! same key.
//!
//! Layout: a sign class (`0` negative, `1` zero, `2` positive), then for non-zero values
//! the decimal exponent of the leading digit plus 50 as two digits, then the significant
//! digits without trailing zeros. Negatives take the nines' complement of the exponent and
//! of the digits and end with `~`, so that a longer (more negative) mantissa sorts first.

use rust_decimal::Decimal;

const EXPONENT_BIAS: i32 = 50;

/// The sort key of `value`.
pub fn encode(value: Decimal) -> String {
    if value.is_zero() {
        return "1".to_owned();
    }
    let normalized = value.normalize();
    let digits = normalized.mantissa().unsigned_abs().to_string();
    let exponent = digits.len() as i32 - normalized.scale() as i32 - 1 + EXPONENT_BIAS;
    // `normalize` keeps an integer's trailing zeros (its scale cannot go below 0).
    let digits = digits.trim_end_matches('0');
    let mut key = String::with_capacity(digits.len() + 4);
    if value.is_sign_negative() {
        key.push('0');
        key.push_str(&format!("{:02}", 99 - exponent));
        key.extend(digits.chars().map(|d| (b'9' - d as u8 + b'0') as char));
        key.push('~');
    } else {
        key.push('2');
        key.push_str(&format!("{exponent:02}"));
        key.push_str(digits);
    }
    key
}

/// The value of a key [`encode`] wrote; `None` for any other text.
pub fn decode(key: &str) -> Option<Decimal> {
    let (class, rest) = key.split_at_checked(1)?;
    if class == "1" {
        return rest.is_empty().then_some(Decimal::ZERO);
    }
    let negative = match class {
        "0" => true,
        "2" => false,
        _ => return None,
    };
    let (exponent, digits) = rest.split_at_checked(2)?;
    let mut exponent: i32 = exponent.parse().ok()?;
    let digits: String = if negative {
        exponent = 99 - exponent;
        let complemented = digits.strip_suffix('~')?;
        complemented
            .bytes()
            .map(|d| (b'9' - d + b'0') as char)
            .collect()
    } else {
        digits.to_owned()
    };
    if digits.is_empty() || !digits.bytes().all(|d| d.is_ascii_digit()) {
        return None;
    }
    let mantissa: i128 = digits.parse().ok()?;
    let scale = digits.len() as i32 - 1 - (exponent - EXPONENT_BIAS);
    let magnitude = if scale >= 0 {
        Decimal::try_from_i128_with_scale(mantissa, scale as u32).ok()?
    } else {
        Decimal::try_from_i128_with_scale(mantissa, 0)
            .ok()?
            .checked_mul(Decimal::from_i128_with_scale(
                10i128.pow((-scale) as u32),
                0,
            ))?
    };
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn byte_order_is_numeric_order() {
        let values = [
            "-79228162514264337593543950335",
            "-1000",
            "-999.99",
            "-10",
            "-9.5",
            "-1.234",
            "-1.23",
            "-1.2",
            "-1",
            "-0.0000000000000000000000000001",
            "0",
            "0.0000000000000000000000000001",
            "0.00000001",
            "0.1",
            "1",
            "1.2",
            "1.23",
            "9.5",
            "10",
            "10.01",
            "100",
            "79228162514264337593543950335",
        ];
        let keys: Vec<String> = values.iter().map(|v| encode(d(v))).collect();
        for pair in keys.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
        for (value, key) in values.iter().zip(&keys) {
            assert_eq!(decode(key), Some(d(value)), "{value} -> {key}");
        }
    }

    #[test]
    fn equal_numbers_share_a_key() {
        assert_eq!(encode(d("1.10")), encode(d("1.1")));
        assert_eq!(encode(d("-0.00")), encode(Decimal::ZERO));
        assert_eq!(encode(d("100")), "2521");
        assert_eq!(encode(d("-2.5")), "04974~");
    }

    #[test]
    fn other_text_is_not_a_key() {
        for text in ["", "3", "2", "2x1", "05", "0491", "1 "] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }
}
