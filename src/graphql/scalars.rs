//! The API's scalars: exact decimals as strings, ISO dates and RFC 3339 times.

use std::str::FromStr;

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;

use crate::db::Numeric;

/// Inputs' decimals are less than this in magnitude: 10^18, beyond any amount in any
/// currency (a quintillion dong is forty trillion dollars), so a larger one is a mistake;
/// and they have at most 28 decimal places, the most an exact decimal (and so any stored
/// value) has. The sort keys of decimal columns encode far more (up to 10^49).
pub const MAX_INPUT_DECIMAL: Decimal = Decimal::from_parts(0xa764_0000, 0x0de0_b6b3, 0, false, 0);

/// Dates inputs may name: any date of an investment history, and far enough ahead for any
/// maturity; beyond them is a typo (year 20204) that would only scan for nothing.
pub const INPUT_DATES: (NaiveDate, NaiveDate) = (
    NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date"),
    NaiveDate::from_ymd_opt(2200, 12, 31).expect("a date"),
);

/// What an input of the scalar `type_name` must be, for error messages.
pub fn input_rule(type_name: &str) -> Option<&'static str> {
    match type_name {
        "Date" => Some("a date YYYY-MM-DD from 1900-01-01 to 2200-12-31"),
        "Decimal" => Some(
            "a decimal as a string (or an integer), less than 10^18 in magnitude, with at most \
             28 decimal places",
        ),
        _ => None,
    }
}

/// An exact decimal number, written as a JSON string (`"1234.5600"`, `"-0.00000001"`) so
/// that no client parses it into a float. Inputs accept strings, and integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecimalScalar(pub Decimal);

/// An exact decimal number, written as a JSON string (`"1234.5600"`, `"-0.00000001"`) so
/// that no client parses it into a float. Inputs accept strings, and integers, less than
/// 10^18 in magnitude with at most 28 decimal places.
#[Scalar(
    name = "Decimal",
    specified_by_url = "https://en.wikipedia.org/wiki/Decimal_data_type"
)]
impl ScalarType for DecimalScalar {
    fn parse(value: Value) -> InputValueResult<Self> {
        let decimal = match &value {
            Value::String(s) => Decimal::from_str_exact(s.trim()).map_err(|_| {
                InputValueError::custom(format!(
                    "{s:?} is not a decimal number (at most 28 decimal places)"
                ))
            })?,
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                Decimal::from_str(&n.to_string()).map_err(InputValueError::custom)?
            }
            Value::Number(_) => {
                return Err(InputValueError::custom(
                    "decimals with a fraction must be sent as strings, e.g. \"12.34\"",
                ));
            }
            _ => return Err(InputValueError::expected_type(value)),
        };
        if decimal.abs() >= MAX_INPUT_DECIMAL {
            return Err(InputValueError::custom(format!(
                "{decimal} is out of range: decimals must be less than 10^18 in magnitude"
            )));
        }
        Ok(DecimalScalar(decimal))
    }

    /// Checked when the document is validated, so a bad value is refused before anything
    /// runs.
    fn is_valid(value: &Value) -> bool {
        Self::parse(value.clone()).is_ok()
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl From<Numeric> for DecimalScalar {
    fn from(value: Numeric) -> Self {
        DecimalScalar(value.0)
    }
}

impl From<Decimal> for DecimalScalar {
    fn from(value: Decimal) -> Self {
        DecimalScalar(value)
    }
}

/// A calendar date, ISO 8601 (`2024-05-31`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date, ISO 8601 (`2024-05-31`); inputs from 1900-01-01 to 2200-12-31.
#[Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => {
                let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    InputValueError::custom(format!("{s:?} is not a date (YYYY-MM-DD)"))
                })?;
                let (first, last) = INPUT_DATES;
                if date < first || date > last {
                    return Err(InputValueError::custom(format!(
                        "{date} is out of range: dates must be from {first} to {last}"
                    )));
                }
                Ok(Date(date))
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    /// Checked when the document is validated, so a bad value is refused before anything
    /// runs.
    fn is_valid(value: &Value) -> bool {
        Self::parse(value.clone()).is_ok()
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant, RFC 3339 in UTC (`2024-05-31T16:00:00Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant, RFC 3339 in UTC (`2024-05-31T16:00:00Z`).
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom(format!("{s:?} is not an RFC 3339 time"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// Converts optional column values into their scalar.
pub fn dec(value: Option<Numeric>) -> Option<DecimalScalar> {
    value.map(DecimalScalar::from)
}

pub fn date(value: Option<NaiveDate>) -> Option<Date> {
    value.map(Date)
}

pub fn time(value: Option<chrono::DateTime<Utc>>) -> Option<DateTime> {
    value.map(DateTime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_decimal_bound_is_ten_to_the_eighteenth() {
        assert_eq!(
            MAX_INPUT_DECIMAL,
            Decimal::from(1_000_000_000_000_000_000_i64)
        );
    }
}
