//! Scripted worlds: a JSON file that says, day by day, what each institution reports, so a
//! test (or `investments plaid-sim --scenario`) can live through an irregular history:
//! accounts opening, closing and being re-issued, prices moving, late and cancelled
//! transactions, outages, item errors and webhooks. The format is described field by
//! field in `docs/features/simulator.md`.
//!
//! The file is validated when loaded, so a typo fails the test that loads it with a
//! message naming the item and day, not with an empty answer later on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

use super::data::{self, ItemData};
use crate::plaid::types::{Account, AccountBalances, Holding, InvestmentTransaction, Security};

/// A decimal written as a JSON string (`"12.34"`): exact, never through a double.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dec(pub Decimal);

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)
            .map_err(|_| D::Error::custom("decimals are JSON strings, like \"12.34\""))?;
        text.parse()
            .map(Dec)
            .map_err(|e| D::Error::custom(format!("bad decimal {text:?}: {e}")))
    }
}

/// Deserializes a present value (even `null`) as `Some`, so that a missing key (`None`)
/// and an explicit `null` (`Some(None)`: clear it) differ.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub description: String,
    /// The date of day 1.
    pub start: NaiveDate,
    pub items: Vec<ScenarioItem>,
}

/// One institution's item and its history.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioItem {
    /// One of [`data::INSTITUTIONS`]; linking it links this item.
    pub institution_id: String,
    /// The `item_id` Plaid hands out for it.
    pub item_id: String,
    #[serde(default)]
    pub securities: Vec<ScenarioSecurity>,
    /// Securities of the catalogue that Plaid names (in holdings and transactions) but
    /// never describes: left out of every `securities` answer.
    #[serde(default)]
    pub undescribed_securities: Vec<String>,
    /// Accounts that are never listed, yet whose transactions Plaid returns (rows a sync
    /// cannot place).
    #[serde(default)]
    pub unlisted_accounts: Vec<String>,
    pub days: Vec<ScenarioDay>,
    /// Copied from the file, so that an item can date its days on its own.
    #[serde(skip)]
    start: NaiveDate,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSecurity {
    pub security_id: String,
    pub name: Option<String>,
    pub ticker_symbol: Option<String>,
    #[serde(rename = "type")]
    pub security_type: Option<String>,
    pub iso_currency_code: Option<String>,
    #[serde(default)]
    pub isin: Option<String>,
    #[serde(default)]
    pub cusip: Option<String>,
}

/// What changes on one day. Absent keys change nothing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDay {
    /// 1-based: day N is `start + N - 1`.
    pub day: u32,
    /// The full account list from this day on.
    pub accounts: Option<Vec<ScenarioAccount>>,
    /// The full holdings list from this day on.
    pub holdings: Option<Vec<ScenarioHolding>>,
    /// New prices by security id, from this day on.
    #[serde(default)]
    pub prices: BTreeMap<String, Dec>,
    /// Transactions that appear from this day on.
    #[serde(default)]
    pub transactions: Vec<ScenarioTransaction>,
    /// `cancel` rows that appear from this day on.
    #[serde(default)]
    pub cancels: Vec<ScenarioCancel>,
    /// Transactions Plaid stops returning from this day on.
    #[serde(default)]
    pub remove_transactions: Vec<String>,
    /// Data calls fail with this from this day on (`null` clears it).
    #[serde(default, deserialize_with = "present")]
    pub error: Option<Option<ScriptedError>>,
    /// 200 answers carry this in `item.error` from this day on (`null` clears it).
    #[serde(default, deserialize_with = "present")]
    pub item_error: Option<Option<ScriptedError>>,
    /// `item.consent_expiration_time` from this day on (`null` clears it).
    #[serde(default, deserialize_with = "present")]
    pub consent_expiration_time: Option<Option<DateTime<Utc>>>,
    /// Fired when the clock is advanced onto or past this day.
    #[serde(default)]
    pub webhooks: Vec<ScenarioWebhook>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioAccount {
    pub account_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub account_type: String,
    pub subtype: Option<String>,
    pub mask: Option<String>,
    #[serde(default)]
    pub persistent_account_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioHolding {
    pub account_id: String,
    pub security_id: String,
    pub quantity: Dec,
    pub price: Dec,
    #[serde(default)]
    pub cost_basis: Option<Dec>,
    #[serde(default)]
    pub price_as_of: Option<NaiveDate>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioTransaction {
    pub id: String,
    pub account_id: String,
    #[serde(default)]
    pub security_id: Option<String>,
    /// The transaction's date; or `day`; default: the day it appears.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    #[serde(default)]
    pub day: Option<u32>,
    #[serde(default)]
    pub datetime: Option<DateTime<Utc>>,
    #[serde(rename = "type")]
    pub transaction_type: String,
    pub subtype: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Default 0 (cash and fee rows).
    #[serde(default)]
    pub quantity: Option<Dec>,
    /// Default 0 (cash and fee rows).
    #[serde(default)]
    pub price: Option<Dec>,
    pub amount: Dec,
    #[serde(default)]
    pub fees: Option<Dec>,
    #[serde(default)]
    pub iso_currency_code: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioCancel {
    /// The cancel row's own id.
    pub id: String,
    /// The transaction it cancels.
    pub of: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioWebhook {
    #[serde(rename = "type")]
    pub webhook_type: String,
    pub code: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedError {
    pub error_code: ErrorCode,
}

/// The Plaid errors a scenario can script (the simulator knows their type, status and
/// message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ItemLoginRequired,
    ProductNotReady,
    NoInvestmentAccounts,
    InstitutionDown,
    InternalServerError,
}

/// An item as Plaid reports it on one date.
#[derive(Clone, Debug, Default)]
pub struct ScenarioState {
    /// Accounts, securities, holdings and transactions, in the shapes the simulator serves.
    pub data: ItemData,
    /// Data calls (`/investments/*`) fail with this.
    pub error: Option<ErrorCode>,
    /// Reported in `item.error` of successful answers.
    pub item_error: Option<ErrorCode>,
    pub consent_expiration_time: Option<DateTime<Utc>>,
}

impl ScenarioFile {
    /// Reads and validates a scenario file.
    pub fn load(path: impl AsRef<Path>) -> anyhow::Result<ScenarioFile> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read scenario {}", path.display()))?;
        Self::from_json(&text).with_context(|| format!("bad scenario {}", path.display()))
    }

    /// Parses and validates a scenario.
    pub fn from_json(text: &str) -> anyhow::Result<ScenarioFile> {
        let mut file: ScenarioFile = serde_json::from_str(text)?;
        let mut item_ids = HashSet::new();
        let mut institutions = HashSet::new();
        for item in &mut file.items {
            item.start = file.start;
            ensure!(
                item_ids.insert(item.item_id.clone()),
                "item {} appears twice",
                item.item_id
            );
            ensure!(
                institutions.insert(item.institution_id.clone()),
                "institution {} has two items (linking it must name one)",
                item.institution_id
            );
            item.validate()
                .with_context(|| format!("item {}", item.item_id))?;
        }
        Ok(file)
    }

    /// The date of day `n` (day 1 is `start`).
    pub fn day_date(&self, n: u32) -> NaiveDate {
        day_date(self.start, n)
    }

    /// The item linked when `institution_id` is linked.
    pub fn item_for_institution(&self, institution_id: &str) -> Option<&ScenarioItem> {
        self.items
            .iter()
            .find(|i| i.institution_id == institution_id)
    }
}

fn day_date(start: NaiveDate, n: u32) -> NaiveDate {
    start + Days::new(u64::from(n.max(1)) - 1)
}

impl ScenarioItem {
    fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            data::institution(&self.institution_id).is_some(),
            "unknown institution {} (the simulator knows {})",
            self.institution_id,
            data::INSTITUTIONS
                .iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let securities: HashSet<&str> = self
            .securities
            .iter()
            .map(|s| s.security_id.as_str())
            .collect();
        let security = |id: &str| {
            ensure!(securities.contains(id), "unknown security {id}");
            Ok(())
        };
        for id in &self.undescribed_securities {
            security(id).context("undescribed_securities")?;
        }
        let unlisted: HashSet<&str> = self.unlisted_accounts.iter().map(String::as_str).collect();
        let mut previous = 0;
        let mut listed: HashSet<&str> = HashSet::new();
        let mut ever_listed: HashSet<&str> = HashSet::new();
        let mut transactions: HashSet<&str> = HashSet::new();
        for day in &self.days {
            let at = || format!("day {}", day.day);
            ensure!(
                day.day > previous,
                "day {} comes after day {previous}: days are 1-based, ascending, each at most once",
                day.day
            );
            previous = day.day;
            if let Some(accounts) = &day.accounts {
                listed = accounts.iter().map(|a| a.account_id.as_str()).collect();
                ensure!(
                    listed.len() == accounts.len(),
                    "{}: an account id appears twice",
                    at()
                );
                if let Some(id) = listed.iter().find(|id| unlisted.contains(*id)) {
                    bail!(
                        "{}: account {id} is listed but named in unlisted_accounts",
                        at()
                    );
                }
                ever_listed.extend(&listed);
            }
            for holding in day.holdings.iter().flatten() {
                ensure!(
                    listed.contains(holding.account_id.as_str()),
                    "{}: holding of unknown account {} (not in the account list of that day)",
                    at(),
                    holding.account_id
                );
                security(&holding.security_id).with_context(at)?;
            }
            for id in day.prices.keys() {
                security(id).with_context(at)?;
            }
            for t in &day.transactions {
                ensure!(
                    ever_listed.contains(t.account_id.as_str())
                        || unlisted.contains(t.account_id.as_str()),
                    "{}: transaction {} of unknown account {}",
                    at(),
                    t.id,
                    t.account_id
                );
                if let Some(id) = &t.security_id {
                    security(id).with_context(at)?;
                }
                ensure!(
                    t.date.is_none() || t.day.is_none(),
                    "{}: transaction {} has both date and day",
                    at(),
                    t.id
                );
                ensure!(
                    transactions.insert(&t.id),
                    "{}: duplicate transaction id {}",
                    at(),
                    t.id
                );
            }
            for cancel in &day.cancels {
                ensure!(
                    transactions.contains(cancel.of.as_str()),
                    "{}: cancel {} of unknown transaction {}",
                    at(),
                    cancel.id,
                    cancel.of
                );
                ensure!(
                    transactions.insert(&cancel.id),
                    "{}: duplicate transaction id {}",
                    at(),
                    cancel.id
                );
            }
            for id in &day.remove_transactions {
                if !transactions.contains(id.as_str()) {
                    bail!("{}: removing unknown transaction {id}", at());
                }
            }
        }
        Ok(())
    }

    /// The date of day `n`.
    pub fn day_date(&self, n: u32) -> NaiveDate {
        day_date(self.start, n)
    }

    /// What Plaid reports for this item on `date`: every day up to `date` applied in order.
    ///
    /// Full-list fields (`accounts`, `holdings`) replace; the rest accumulates. A price
    /// (from `prices` or a holdings list) is the latest one given: a `prices` entry
    /// overrides the holdings list of its own day and earlier ones, and a later holdings
    /// list overrides earlier `prices`. Transactions are those of the accounts listed on
    /// `date` (Plaid answers about the accounts it still has), newest first.
    pub fn state_at(&self, date: NaiveDate) -> ScenarioState {
        let mut accounts: &[ScenarioAccount] = &[];
        let mut holdings: &[ScenarioHolding] = &[];
        // Security -> (price, as of) given by `prices`, newer than the holdings list.
        let mut prices: HashMap<&str, (Decimal, NaiveDate)> = HashMap::new();
        let mut holdings_date = self.start;
        let mut transactions: Vec<InvestmentTransaction> = Vec::new();
        let mut state = ScenarioState::default();
        for day in self
            .days
            .iter()
            .take_while(|d| self.day_date(d.day) <= date)
        {
            let today = self.day_date(day.day);
            if let Some(list) = &day.accounts {
                accounts = list;
            }
            if let Some(list) = &day.holdings {
                holdings = list;
                holdings_date = today;
                prices.clear();
            }
            for (id, price) in &day.prices {
                prices.insert(id, (price.0, today));
            }
            for t in &day.transactions {
                transactions.push(self.transaction(t, today));
            }
            for cancel in &day.cancels {
                let original = transactions
                    .iter()
                    .find(|t| t.investment_transaction_id == cancel.of)
                    .expect("validated: cancels name an earlier transaction");
                let mut row = data::cancel_of(&mut data::Rng::new(0), original, today);
                row.investment_transaction_id = cancel.id.clone();
                row.subtype = "cancel".to_owned();
                transactions.push(row);
            }
            transactions.retain(|t| {
                !day.remove_transactions
                    .contains(&t.investment_transaction_id)
            });
            if let Some(error) = day.error {
                state.error = error.map(|e| e.error_code);
            }
            if let Some(error) = day.item_error {
                state.item_error = error.map(|e| e.error_code);
            }
            if let Some(time) = day.consent_expiration_time {
                state.consent_expiration_time = time;
            }
        }

        let holdings: Vec<Holding> = holdings
            .iter()
            .map(|h| {
                let (price, as_of) = match prices.get(h.security_id.as_str()) {
                    Some(&(price, as_of)) => (price, Some(as_of)),
                    None => (h.price.0, h.price_as_of),
                };
                Holding {
                    account_id: h.account_id.clone(),
                    security_id: h.security_id.clone(),
                    institution_price: price,
                    institution_price_as_of: as_of,
                    institution_price_datetime: None,
                    institution_value: h.quantity.0 * price,
                    cost_basis: h.cost_basis.map(|c| c.0),
                    quantity: h.quantity.0,
                    iso_currency_code: Some(self.currency_of(&h.security_id)),
                    unofficial_currency_code: None,
                    vested_quantity: None,
                    vested_value: None,
                    tax_lots: None,
                }
            })
            .collect();
        let securities = self
            .securities
            .iter()
            .filter(|s| !self.undescribed_securities.contains(&s.security_id))
            .map(|s| {
                let close = prices.get(s.security_id.as_str()).copied().or_else(|| {
                    let h = holdings.iter().find(|h| h.security_id == s.security_id)?;
                    Some((
                        h.institution_price,
                        h.institution_price_as_of.unwrap_or(holdings_date),
                    ))
                });
                Security {
                    isin: s.isin.clone(),
                    cusip: s.cusip.clone(),
                    name: s.name.clone(),
                    ticker_symbol: s.ticker_symbol.clone(),
                    is_cash_equivalent: Some(s.security_type.as_deref() == Some("cash")),
                    security_type: s.security_type.clone(),
                    close_price: close.map(|c| c.0),
                    close_price_as_of: close.map(|c| c.1),
                    ..Security::bare(&s.security_id, Some(self.currency_of(&s.security_id)))
                }
            })
            .collect();
        let accounts: Vec<Account> = accounts
            .iter()
            .map(|a| {
                let mine = holdings.iter().filter(|h| h.account_id == a.account_id);
                let current = mine.clone().map(|h| h.institution_value).sum();
                let currency = mine
                    .clone()
                    .find_map(|h| h.iso_currency_code.clone())
                    .unwrap_or_else(|| "USD".to_owned());
                Account {
                    account_id: a.account_id.clone(),
                    balances: AccountBalances {
                        available: None,
                        current: Some(current),
                        limit: None,
                        iso_currency_code: Some(currency),
                        unofficial_currency_code: None,
                        margin_loan_amount: (a.account_type == "investment")
                            .then_some(Decimal::ZERO),
                        last_updated_datetime: None,
                    },
                    mask: a.mask.clone(),
                    name: a.name.clone(),
                    official_name: None,
                    account_type: a.account_type.clone(),
                    subtype: a.subtype.clone(),
                    persistent_account_id: a.persistent_account_id.clone(),
                    holder_category: Some("personal".to_owned()),
                }
            })
            .collect();
        transactions.retain(|t| {
            accounts.iter().any(|a| a.account_id == t.account_id)
                || self.unlisted_accounts.contains(&t.account_id)
        });
        data::sort_newest_first(&mut transactions);
        state.data = ItemData {
            accounts,
            securities,
            holdings,
            transactions,
        };
        state
    }

    fn security(&self, id: &str) -> Option<&ScenarioSecurity> {
        self.securities.iter().find(|s| s.security_id == id)
    }

    fn currency_of(&self, security_id: &str) -> String {
        self.security(security_id)
            .and_then(|s| s.iso_currency_code.clone())
            .unwrap_or_else(|| "USD".to_owned())
    }

    fn transaction(&self, t: &ScenarioTransaction, appears: NaiveDate) -> InvestmentTransaction {
        let security = t.security_id.as_deref().and_then(|id| self.security(id));
        let name = t.name.clone().unwrap_or_else(|| {
            let what = security.and_then(|s| s.ticker_symbol.clone().or(s.name.clone()));
            match what {
                Some(what) => format!("{} {what}", t.subtype.to_uppercase()),
                None => t.subtype.to_uppercase(),
            }
        });
        InvestmentTransaction {
            investment_transaction_id: t.id.clone(),
            cancel_transaction_id: None,
            account_id: t.account_id.clone(),
            security_id: t.security_id.clone(),
            date: t
                .date
                .or(t.day.map(|n| self.day_date(n)))
                .unwrap_or(appears),
            transaction_datetime: t.datetime,
            name,
            quantity: t.quantity.map_or(Decimal::ZERO, |d| d.0),
            amount: t.amount.0,
            price: t.price.map_or(Decimal::ZERO, |d| d.0),
            fees: t.fees.map(|d| d.0),
            transaction_type: t.transaction_type.clone(),
            subtype: t.subtype.clone(),
            iso_currency_code: Some(t.iso_currency_code.clone().unwrap_or_else(|| {
                t.security_id
                    .as_deref()
                    .map_or_else(|| "USD".to_owned(), |id| self.currency_of(id))
            })),
            unofficial_currency_code: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(days: &str) -> String {
        format!(
            r#"{{ "start": "2026-01-01", "items": [{{
                "institution_id": "ins_109508", "item_id": "item-1",
                "securities": [{{ "security_id": "sec-a", "name": "A", "ticker_symbol": "A",
                                  "type": "equity", "iso_currency_code": "USD" }}],
                "days": {days} }}] }}"#
        )
    }

    const ACCOUNT: &str = r#"{ "account_id": "acc-1", "name": "Brokerage", "type": "investment",
                               "subtype": "brokerage", "mask": "1234" }"#;

    fn error_of(days: &str) -> String {
        format!(
            "{:#}",
            ScenarioFile::from_json(&scenario(days)).expect_err("invalid")
        )
    }

    #[test]
    fn invalid_scenarios_say_what_is_wrong() {
        let holding = |account: &str, security: &str, quantity: &str| {
            format!(
                r#"[{{ "day": 1, "accounts": [{ACCOUNT}], "holdings": [{{ "account_id": "{account}",
                   "security_id": "{security}", "quantity": {quantity}, "price": "1" }}] }}]"#
            )
        };
        let e = error_of(&holding("acc-9", "sec-a", "\"1\""));
        assert!(e.contains("unknown account acc-9"), "{e}");
        let e = error_of(&holding("acc-1", "sec-z", "\"1\""));
        assert!(
            e.contains("unknown security sec-z") && e.contains("day 1"),
            "{e}"
        );
        let e = error_of(&holding("acc-1", "sec-a", "\"1.2.3\""));
        assert!(e.contains("bad decimal \"1.2.3\""), "{e}");
        let e = error_of(&holding("acc-1", "sec-a", "1.5"));
        assert!(e.contains("decimals are JSON strings"), "{e}");
        let e = error_of(r#"[{ "day": 2 }, { "day": 2 }]"#);
        assert!(e.contains("day 2 comes after day 2"), "{e}");
        let tx = |id: &str| {
            format!(
                r#"{{ "id": "{id}", "account_id": "acc-1", "type": "cash", "subtype": "deposit",
                     "amount": "-5" }}"#
            )
        };
        let e = error_of(&format!(
            r#"[{{ "day": 1, "accounts": [{ACCOUNT}], "transactions": [{}] }},
                {{ "day": 3, "transactions": [{}] }}]"#,
            tx("tx-1"),
            tx("tx-1")
        ));
        assert!(e.contains("day 3: duplicate transaction id tx-1"), "{e}");
        let e = error_of(r#"[{ "day": 1, "cancels": [{ "id": "c", "of": "tx-0" }] }]"#);
        assert!(e.contains("unknown transaction tx-0"), "{e}");
        let e = error_of(r#"[{ "day": 1, "error": { "error_code": "NOPE" } }]"#);
        assert!(e.contains("unknown variant `NOPE`"), "{e}");
        let e = error_of(r#"[{ "day": 1, "surprise": true }]"#);
        assert!(e.contains("unknown field `surprise`"), "{e}");
        let e = format!(
            "{:#}",
            ScenarioFile::from_json(&scenario("[]").replace("ins_109508", "ins_nope")).unwrap_err()
        );
        assert!(e.contains("unknown institution ins_nope"), "{e}");
    }

    #[test]
    fn opt_ins_hide_securities_and_serve_unlisted_accounts() {
        let with = |extra: &str, days: &str| {
            scenario(days).replace(
                r#""item_id": "item-1","#,
                &format!(r#""item_id": "item-1", {extra},"#),
            )
        };
        let days = format!(
            r#"[{{ "day": 1, "accounts": [{ACCOUNT}],
                   "holdings": [{{ "account_id": "acc-1", "security_id": "sec-a",
                                   "quantity": "1", "price": "2" }}],
                   "transactions": [{{ "id": "tx-g", "account_id": "acc-ghost", "type": "cash",
                                       "subtype": "deposit", "amount": "-5" }}] }}]"#
        );
        let e = format!(
            "{:#}",
            ScenarioFile::from_json(&with(r#""undescribed_securities": ["sec-a"]"#, &days))
                .unwrap_err()
        );
        assert!(e.contains("unknown account acc-ghost"), "{e}");
        let file = ScenarioFile::from_json(&with(
            r#""undescribed_securities": ["sec-a"], "unlisted_accounts": ["acc-ghost"]"#,
            &days,
        ))
        .unwrap();
        let state = file.items[0].state_at(file.day_date(1));
        assert!(state.data.securities.is_empty(), "sec-a is never described");
        assert_eq!(state.data.holdings[0].security_id, "sec-a");
        assert_eq!(state.data.accounts.len(), 1);
        assert_eq!(state.data.transactions[0].account_id, "acc-ghost");
        let e = format!(
            "{:#}",
            ScenarioFile::from_json(&with(r#""unlisted_accounts": ["acc-1"]"#, &days)).unwrap_err()
        );
        assert!(e.contains("account acc-1 is listed"), "{e}");
        let e = format!(
            "{:#}",
            ScenarioFile::from_json(&with(r#""undescribed_securities": ["sec-z"]"#, &days))
                .unwrap_err()
        );
        assert!(e.contains("unknown security sec-z"), "{e}");
    }

    #[test]
    fn state_accumulates_day_by_day() {
        let file = ScenarioFile::from_json(&scenario(&format!(
            r#"[{{ "day": 1, "accounts": [{ACCOUNT}],
                   "holdings": [{{ "account_id": "acc-1", "security_id": "sec-a",
                                   "quantity": "3", "price": "10.5" }}],
                   "transactions": [{{ "id": "tx-1", "account_id": "acc-1", "security_id": "sec-a",
                                       "type": "buy", "subtype": "buy", "quantity": "3",
                                       "price": "10", "amount": "30" }}] }},
                {{ "day": 4, "prices": {{ "sec-a": "12" }}, "cancels": [{{ "id": "c-1", "of": "tx-1" }}],
                   "error": {{ "error_code": "INSTITUTION_DOWN" }} }},
                {{ "day": 5, "error": null }}]"#
        )))
        .unwrap();
        let item = &file.items[0];
        let day = |n| item.state_at(file.day_date(n));
        let one = day(1);
        assert_eq!(
            one.data.accounts[0].balances.current,
            Some("31.5".parse().unwrap())
        );
        assert_eq!(
            one.data.securities[0].close_price,
            Some("10.5".parse().unwrap())
        );
        assert_eq!(one.data.transactions[0].name, "BUY A");
        let four = day(4);
        assert_eq!(four.error, Some(ErrorCode::InstitutionDown));
        assert_eq!(four.data.holdings[0].institution_value, Decimal::from(36));
        assert_eq!(
            four.data.securities[0].close_price_as_of,
            Some(file.day_date(4))
        );
        let cancel = &four.data.transactions[0];
        assert_eq!(
            (
                cancel.investment_transaction_id.as_str(),
                cancel.transaction_type.as_str()
            ),
            ("c-1", "cancel")
        );
        assert_eq!(cancel.amount, Decimal::from(-30));
        assert_eq!(cancel.cancel_transaction_id, None);
        assert_eq!(day(5).error, None);
    }
}
