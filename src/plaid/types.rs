//! Plaid's wire format (API version 2020-09-14) for the endpoints we use, field by field
//! from `shared/plaid/REFERENCE.md`.
//!
//! Conventions: a required key is a plain field; a required-but-nullable key is an
//! `Option` that is always written (as `null`); an optional key is an `Option` that is left
//! out when absent. Unknown response keys are ignored and open enums (types, subtypes,
//! codes) are kept as strings, so Plaid adding something never breaks a sync. Money,
//! quantities and prices are `Decimal`, decoded through the shortest text that round-trips
//! the JSON double, so the number Plaid wrote is the number stored.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The only API version we speak.
pub const PLAID_VERSION: &str = "2020-09-14";

/// JSON numbers <-> `Decimal`, exactly as written.
pub mod decimal {
    use std::fmt;
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use rust_decimal::prelude::ToPrimitive;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    struct DecimalVisitor;

    impl Visitor<'_> for DecimalVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            if !v.is_finite() {
                return Err(E::custom("not a finite number"));
            }
            // Rust prints the shortest decimal that round-trips the double, never in
            // exponent form: 0.140034616 -> "0.140034616", 1e-8 -> "0.00000001".
            Decimal::from_str(&v.to_string()).map_err(E::custom)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str(v).map_err(E::custom)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }

    /// Written as a JSON number, like Plaid (exact for values a double can hold, which is
    /// every value Plaid can send).
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        if v.fract().is_zero()
            && let Some(i) = v.to_i64()
        {
            return s.serialize_i64(i);
        }
        s.serialize_f64(
            v.to_f64()
                .ok_or_else(|| serde::ser::Error::custom("decimal out of range"))?,
        )
    }

    /// The same for nullable values.
    pub mod option {
        use super::*;

        struct OptionVisitor;

        impl<'de> Visitor<'de> for OptionVisitor {
            type Value = Option<Decimal>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or null")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                super::deserialize(d).map(Some)
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            d.deserialize_option(OptionVisitor)
        }

        pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// A secret token type: sent on the wire as is, never shown by `Debug`, so no log line or
/// error message can carry it.
macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(token: impl Into<String>) -> Self {
                $name(token.into())
            }

            /// The token itself, for the wire and for encryption at rest only.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_token!(
    /// A Plaid access token: the lasting key to an item's data.
    AccessToken
);

secret_token!(
    /// A Plaid public token (Link's `onSuccess`, `/sandbox/public_token/create`): good for
    /// one `/item/public_token/exchange` only. A type of its own so that the compiler keeps
    /// it out of the places an access token goes, and the other way round.
    PublicToken
);

// ---------------------------------------------------------------------------------------
// Common objects
// ---------------------------------------------------------------------------------------

/// An HTTP status from a loosely typed field: an integer, a float with no fraction or a
/// numeric string within 100..=599; anything else (null, out of range, text) is `None`,
/// so one odd nested field never fails a whole answer.
fn lenient_status<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<u16>, D::Error> {
    let value = serde_json::Value::deserialize(de)?;
    let number = match &value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        serde_json::Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    Ok(number
        .filter(|n| (100..=599).contains(n))
        .and_then(|n| u16::try_from(n).ok()))
}

/// Plaid's error object: the body of every non-2xx answer, and `item.error` / webhook
/// `error`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaidErrorBody {
    #[serde(default)]
    pub error_type: String,
    #[serde(default)]
    pub error_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code_reason: Option<String>,
    #[serde(default)]
    pub error_message: String,
    #[serde(default)]
    pub display_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// HTTP status; only when the error arrives in a webhook. Plaid's spec types it as
    /// any integer: anything that is not an HTTP status reads as `None`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_status"
    )]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_action: Option<String>,
}

/// A Plaid Item as responses describe it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub item_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_name: Option<String>,
    pub webhook: Option<String>,
    pub error: Option<PlaidErrorBody>,
    pub available_products: Vec<String>,
    pub billed_products: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consented_products: Option<Vec<String>>,
    pub consent_expiration_time: Option<DateTime<Utc>>,
    pub update_type: String,
    /// Only in `/item/get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

/// Balances of an investment account (cached by Plaid, not real time).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountBalances {
    #[serde(with = "decimal::option")]
    pub available: Option<Decimal>,
    #[serde(with = "decimal::option")]
    pub current: Option<Decimal>,
    #[serde(with = "decimal::option")]
    pub limit: Option<Decimal>,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
    /// Investment accounts only (absent from `/accounts/get`).
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub margin_loan_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_datetime: Option<DateTime<Utc>>,
}

/// An account (`InvestmentAccount` / `AccountBase`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub balances: AccountBalances,
    pub mask: Option<String>,
    pub name: String,
    pub official_name: Option<String>,
    /// `investment`, `depository`, `credit`, `loan`, `brokerage`, `other`, or newer.
    #[serde(rename = "type")]
    pub account_type: String,
    pub subtype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_category: Option<String>,
}

/// Terms of an option contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionContract {
    pub contract_type: String,
    pub expiration_date: NaiveDate,
    #[serde(with = "decimal")]
    pub strike_price: Decimal,
    pub underlying_security_ticker: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct YieldRate {
    #[serde(with = "decimal")]
    pub percentage: Decimal,
    #[serde(rename = "type")]
    pub rate_type: Option<String>,
}

/// Terms of a fixed-income security.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixedIncome {
    pub yield_rate: Option<YieldRate>,
    pub maturity_date: Option<NaiveDate>,
    pub issue_date: Option<NaiveDate>,
    #[serde(with = "decimal::option")]
    pub face_value: Option<Decimal>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Security {
    pub security_id: String,
    pub isin: Option<String>,
    pub cusip: Option<String>,
    pub sedol: Option<String>,
    pub institution_security_id: Option<String>,
    pub institution_id: Option<String>,
    pub proxy_security_id: Option<String>,
    pub name: Option<String>,
    pub ticker_symbol: Option<String>,
    pub is_cash_equivalent: Option<bool>,
    #[serde(rename = "type")]
    pub security_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    #[serde(with = "decimal::option")]
    pub close_price: Option<Decimal>,
    pub close_price_as_of: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_datetime: Option<DateTime<Utc>>,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
    pub market_identifier_code: Option<String>,
    pub sector: Option<String>,
    pub industry: Option<String>,
    pub cfi_code: Option<String>,
    pub option_contract: Option<OptionContract>,
    pub fixed_income: Option<FixedIncome>,
}

impl Security {
    /// A security known only by its id (and currency): every other field empty.
    pub fn bare(security_id: &str, iso_currency_code: Option<String>) -> Security {
        Security {
            security_id: security_id.to_owned(),
            isin: None,
            cusip: None,
            sedol: None,
            institution_security_id: None,
            institution_id: None,
            proxy_security_id: None,
            name: None,
            ticker_symbol: None,
            is_cash_equivalent: None,
            security_type: None,
            subtype: None,
            close_price: None,
            close_price_as_of: None,
            update_datetime: None,
            iso_currency_code,
            unofficial_currency_code: None,
            market_identifier_code: None,
            sector: None,
            industry: None,
            cfi_code: None,
            option_contract: None,
            fixed_income: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxLot {
    pub institution_lot_id: Option<String>,
    pub original_purchase_datetime: Option<DateTime<Utc>>,
    #[serde(with = "decimal::option")]
    pub quantity: Option<Decimal>,
    #[serde(with = "decimal::option")]
    pub purchase_price: Option<Decimal>,
    #[serde(with = "decimal::option")]
    pub cost_basis: Option<Decimal>,
    #[serde(with = "decimal::option")]
    pub current_value: Option<Decimal>,
    pub position_type: Option<String>,
}

/// A position (Plaid gives holdings no id: they are keyed by account and security).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    pub account_id: String,
    pub security_id: String,
    #[serde(with = "decimal")]
    pub institution_price: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_price_as_of: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_price_datetime: Option<DateTime<Utc>>,
    #[serde(with = "decimal")]
    pub institution_value: Decimal,
    #[serde(with = "decimal::option")]
    pub cost_basis: Option<Decimal>,
    #[serde(with = "decimal")]
    pub quantity: Decimal,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub vested_quantity: Option<Decimal>,
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub vested_value: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_lots: Option<Vec<TaxLot>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InvestmentTransaction {
    pub investment_transaction_id: String,
    /// Deprecated by Plaid; kept as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_transaction_id: Option<String>,
    pub account_id: String,
    pub security_id: Option<String>,
    pub date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_datetime: Option<DateTime<Utc>>,
    pub name: String,
    #[serde(with = "decimal")]
    pub quantity: Decimal,
    #[serde(with = "decimal")]
    pub amount: Decimal,
    #[serde(with = "decimal")]
    pub price: Decimal,
    #[serde(with = "decimal::option")]
    pub fees: Option<Decimal>,
    #[serde(rename = "type")]
    pub transaction_type: String,
    pub subtype: String,
    pub iso_currency_code: Option<String>,
    pub unofficial_currency_code: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Requests and responses. Requests refuse unknown fields (as Plaid does, which lets the
// simulator answer UNKNOWN_FIELDS); credentials travel in headers.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountIdsOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_ids: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvestmentsHoldingsGetRequest {
    pub access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<AccountIdsOptions>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvestmentsHoldingsGetResponse {
    pub accounts: Vec<Account>,
    pub holdings: Vec<Holding>,
    pub securities: Vec<Security>,
    pub item: Item,
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_investments_fallback_item: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionsOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_ids: Option<Vec<String>>,
    /// 1 to 500; Plaid's default is 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_update: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvestmentsTransactionsGetRequest {
    pub access_token: AccessToken,
    pub start_date: String,
    pub end_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<TransactionsOptions>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvestmentsTransactionsGetResponse {
    pub item: Item,
    pub accounts: Vec<Account>,
    pub securities: Vec<Security>,
    pub investment_transactions: Vec<InvestmentTransaction>,
    pub total_investment_transactions: i64,
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_investments_fallback_item: Option<bool>,
}

/// Body of the calls that take only an access token (`/investments/refresh`, `/item/get`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessTokenRequest {
    pub access_token: AccessToken,
}

/// Answer that carries nothing but its request id (`/investments/refresh`, `/item/remove`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestIdResponse {
    pub request_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTokenUser {
    pub client_user_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTokenUpdate {
    pub account_selection_enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTokenCreateRequest {
    pub client_name: String,
    pub language: String,
    pub country_codes: Vec<String>,
    pub user: LinkTokenUser,
    /// Omitted in update mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// Set for update mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<LinkTokenUpdate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkTokenCreateResponse {
    pub link_token: String,
    pub expiration: DateTime<Utc>,
    pub request_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicTokenExchangeRequest {
    pub public_token: PublicToken,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublicTokenExchangeResponse {
    pub access_token: AccessToken,
    pub item_id: String,
    pub request_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvestmentsStatus {
    pub last_successful_update: Option<DateTime<Utc>>,
    pub last_failed_update: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investments: Option<InvestmentsStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemGetResponse {
    pub item: Item,
    pub status: Option<ItemStatus>,
    pub request_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRemoveRequest {
    pub access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsGetRequest {
    pub access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<AccountIdsOptions>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountsGetResponse {
    pub accounts: Vec<Account>,
    pub item: Item,
    pub request_id: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionsGetByIdOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_optional_metadata: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_status: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionsGetByIdRequest {
    pub institution_id: String,
    pub country_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<InstitutionsGetByIdOptions>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Institution {
    pub institution_id: String,
    pub name: String,
    pub products: Vec<String>,
    pub country_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    pub routing_numbers: Vec<String>,
    pub oauth: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstitutionsGetByIdResponse {
    pub institution: Institution,
    pub request_id: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxPublicTokenOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_password: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxPublicTokenCreateRequest {
    pub institution_id: String,
    pub initial_products: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<SandboxPublicTokenOptions>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SandboxPublicTokenCreateResponse {
    pub public_token: PublicToken,
    pub request_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookVerificationKeyGetRequest {
    pub key_id: String,
}

/// A JSON Web Key for webhook verification (EC P-256).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookVerificationKey {
    pub alg: String,
    pub crv: String,
    pub kid: String,
    pub kty: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub x: String,
    pub y: String,
    pub created_at: i64,
    pub expired_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookVerificationKeyGetResponse {
    pub key: WebhookVerificationKey,
    pub request_id: String,
}

/// A webhook's body (the fields we act on; the rest is ignored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub webhook_type: String,
    pub webhook_code: String,
    pub item_id: String,
    #[serde(default)]
    pub error: Option<PlaidErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_expiration_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_holdings: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_holdings: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_investments_transactions: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_investments_transactions: Option<serde_json::Number>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Serialize)]
    struct Money {
        #[serde(with = "decimal")]
        v: Decimal,
    }

    #[test]
    fn doubles_decode_to_the_digits_plaid_wrote() {
        for text in [
            "0.140034616",
            "0.00000001",
            "-1289.01",
            "0.00293644",
            "27.53",
            "1314.31",
            "7.99",
            "100",
            "-47.74",
            "123456789.12",
        ] {
            let m: Money = serde_json::from_str(&format!("{{\"v\": {text}}}")).unwrap();
            assert_eq!(m.v.to_string(), text, "{text}");
            // Written back as a JSON number (maybe in exponent form, as Plaid may) that
            // decodes to the same digits.
            let back = serde_json::to_string(&m).unwrap();
            let again: Money = serde_json::from_str(&back).unwrap();
            assert_eq!(again.v.to_string(), text, "{back}");
        }
    }

    #[test]
    fn unknown_response_fields_are_ignored_and_open_enums_kept() {
        let json = r#"{"investment_transaction_id":"t","account_id":"a","security_id":null,
            "date":"2024-01-02","name":"n","quantity":0,"amount":-8.72,"price":0,
            "fees":null,"type":"brand_new_type","subtype":"brand new subtype",
            "iso_currency_code":"USD","unofficial_currency_code":null,"future_field":{"x":1}}"#;
        let t: InvestmentTransaction = serde_json::from_str(json).unwrap();
        assert_eq!(t.transaction_type, "brand_new_type");
        assert_eq!(t.amount.to_string(), "-8.72");
    }

    #[test]
    fn an_error_status_of_any_shape_never_fails_the_answer() {
        for (raw, expected) in [
            ("400", Some(400)),
            ("400.0", Some(400)),
            ("\"503\"", Some(503)),
            ("70000", None),
            ("-1", None),
            ("null", None),
            ("\"soon\"", None),
        ] {
            let body: PlaidErrorBody = serde_json::from_str(&format!(
                r#"{{"error_type":"ITEM_ERROR","error_code":"X","error_message":"m","display_message":null,"status":{raw}}}"#
            ))
            .unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(body.status, expected, "{raw}");
        }
    }
}
