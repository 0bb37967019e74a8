//! The API's scalars: exact decimals as strings, ISO dates and RFC 3339 times.

use std::str::FromStr;

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;

use crate::db::Numeric;

/// An exact decimal number, written as a JSON string (`"1234.5600"`, `"-0.00000001"`) so
/// that no client parses it into a float. Inputs accept strings, and integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecimalScalar(pub Decimal);

/// An exact decimal number, written as a JSON string (`"1234.5600"`, `"-0.00000001"`) so
/// that no client parses it into a float. Inputs accept strings, and integers.
#[Scalar(
    name = "Decimal",
    specified_by_url = "https://en.wikipedia.org/wiki/Decimal_data_type"
)]
impl ScalarType for DecimalScalar {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Decimal::from_str_exact(s.trim())
                .map(DecimalScalar)
                .map_err(|_| InputValueError::custom(format!("{s:?} is not a decimal number"))),
            Value::Number(n) if n.is_i64() || n.is_u64() => Decimal::from_str(&n.to_string())
                .map(DecimalScalar)
                .map_err(InputValueError::custom),
            Value::Number(_) => Err(InputValueError::custom(
                "decimals with a fraction must be sent as strings, e.g. \"12.34\"",
            )),
            _ => Err(InputValueError::expected_type(value)),
        }
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

/// A calendar date, ISO 8601 (`2024-05-31`).
#[Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("{s:?} is not a date (YYYY-MM-DD)"))),
            _ => Err(InputValueError::expected_type(value)),
        }
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
