//! Deterministic investments data for simulated items: institutions, accounts, securities
//! of every Plaid type, holdings, and two years of transactions that cover every
//! type/subtype pair of the reference.

use chrono::{Days, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::plaid::types::*;

/// SplitMix64: small, fast, and stable forever (the data of a seed never changes with a
/// dependency upgrade).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A decimal in `[lo, hi)` with `scale` decimal places.
    pub fn decimal(&mut self, lo: i64, hi: i64, scale: u32) -> Decimal {
        let unit = 10i64.pow(scale);
        let span = ((hi - lo) * unit).max(1) as u64;
        Decimal::new(lo * unit + self.below(span) as i64, scale)
    }

    /// A Plaid-looking id: 37 characters of [A-Za-z0-9].
    pub fn id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..37)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

/// Stable 64-bit hash of text (FNV-1a), to derive seeds.
pub fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

pub struct InstitutionInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub currency: &'static str,
    pub country: &'static str,
}

/// Plaid's sandbox institutions.
pub const INSTITUTIONS: &[InstitutionInfo] = &[
    InstitutionInfo {
        id: "ins_109508",
        name: "First Platypus Bank",
        currency: "USD",
        country: "US",
    },
    InstitutionInfo {
        id: "ins_109509",
        name: "First Gingham Credit Union",
        currency: "USD",
        country: "US",
    },
    InstitutionInfo {
        id: "ins_109510",
        name: "Tattersall Federal Credit Union",
        currency: "USD",
        country: "US",
    },
    InstitutionInfo {
        id: "ins_109511",
        name: "Tartan Bank",
        currency: "USD",
        country: "US",
    },
    InstitutionInfo {
        id: "ins_109512",
        name: "Houndstooth Bank",
        currency: "USD",
        country: "US",
    },
    InstitutionInfo {
        id: "ins_43",
        name: "Tartan-Dominion Bank of Canada",
        currency: "CAD",
        country: "CA",
    },
];

pub fn institution(id: &str) -> Option<&'static InstitutionInfo> {
    INSTITUTIONS.iter().find(|i| i.id == id)
}

/// Kinds of security in the catalogue, one of each Plaid type.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cash,
    Equity,
    Etf,
    MutualFund,
    FixedIncome,
    Option,
    Crypto,
}

struct CatalogEntry {
    key: &'static str,
    name: &'static str,
    ticker: Option<&'static str>,
    kind: Kind,
    subtype: &'static str,
    /// Price with the digits an institution would report.
    price: &'static str,
    sector: Option<&'static str>,
    industry: Option<&'static str>,
}

const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        key: "cash",
        name: "U S Dollar",
        ticker: Some("CUR:USD"),
        kind: Kind::Cash,
        subtype: "cash",
        price: "1",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "aapl",
        name: "Apple Inc.",
        ticker: Some("AAPL"),
        kind: Kind::Equity,
        subtype: "common stock",
        price: "189.84",
        sector: Some("Electronic Technology"),
        industry: Some("Telecommunications Equipment"),
    },
    CatalogEntry {
        key: "msft",
        name: "Microsoft Corporation",
        ticker: Some("MSFT"),
        kind: Kind::Equity,
        subtype: "common stock",
        price: "415.26",
        sector: Some("Technology Services"),
        industry: Some("Packaged Software"),
    },
    CatalogEntry {
        key: "achn",
        name: "Achillion Pharmaceuticals Inc.",
        ticker: Some("ACHN"),
        kind: Kind::Equity,
        subtype: "common stock",
        price: "2.89",
        sector: Some("Health Technology"),
        industry: Some("Biotechnology"),
    },
    CatalogEntry {
        key: "vti",
        name: "Vanguard Total Stock Market ETF",
        ticker: Some("VTI"),
        kind: Kind::Etf,
        subtype: "etf",
        price: "262.12",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "spy",
        name: "SPDR S&P 500 ETF Trust",
        ticker: Some("SPY"),
        kind: Kind::Etf,
        subtype: "etf",
        price: "521.33",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "tiger",
        name: "Matthews Pacific Tiger Fund Insti Class",
        ticker: None,
        kind: Kind::MutualFund,
        subtype: "mutual fund",
        price: "27.53",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "dbltx",
        name: "DoubleLine Total Return Bond Fund",
        ticker: Some("DBLTX"),
        kind: Kind::MutualFund,
        subtype: "mutual fund",
        price: "8.74",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "tbill",
        name: "United States Treasury Bill",
        ticker: None,
        kind: Kind::FixedIncome,
        subtype: "bill",
        price: "98.715",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "nflx-call",
        name: "NFLX Jan 15 2027 355.00 Call",
        ticker: Some("NFLX270115C00355000"),
        kind: Kind::Option,
        subtype: "option",
        price: "1.42",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "btc",
        name: "Bitcoin",
        ticker: Some("BTC"),
        kind: Kind::Crypto,
        subtype: "cryptocurrency",
        price: "67234.12",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "doge",
        name: "Dogecoin",
        ticker: Some("DOGE"),
        kind: Kind::Crypto,
        subtype: "cryptocurrency",
        price: "0.140034616",
        sector: None,
        industry: None,
    },
    CatalogEntry {
        key: "shop",
        name: "Shopify Inc.",
        ticker: Some("SHOP"),
        kind: Kind::Equity,
        subtype: "common stock",
        price: "98.47",
        sector: Some("Technology Services"),
        industry: Some("Internet Software/Services"),
    },
];

fn dec(s: &str) -> Decimal {
    s.parse().expect("catalogue decimal")
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A security of the catalogue, in `currency` (cash follows the currency).
fn security(seed: u64, entry: &CatalogEntry, currency: &str, today: NaiveDate) -> Security {
    let mut rng = Rng::new(hash(entry.key) ^ seed);
    let ticker = match entry.kind {
        Kind::Cash => Some(format!("CUR:{currency}")),
        _ => entry.ticker.map(str::to_owned),
    };
    let name = match entry.kind {
        Kind::Cash if currency == "CAD" => "Canadian Dollar".to_owned(),
        _ => entry.name.to_owned(),
    };
    let security_type = match entry.kind {
        Kind::Cash => "cash",
        Kind::Equity => "equity",
        Kind::Etf => "etf",
        Kind::MutualFund => "mutual fund",
        Kind::FixedIncome => "fixed income",
        Kind::Option => "derivative",
        Kind::Crypto => "cryptocurrency",
    };
    Security {
        security_id: rng.id(),
        isin: None,
        cusip: None,
        sedol: None,
        institution_security_id: entry.ticker.map(|t| format!("INST-{t}")),
        institution_id: None,
        // Illiquid funds point to a similar public security.
        proxy_security_id: (entry.key == "tiger").then(|| Rng::new(hash("vti") ^ seed).id()),
        name: Some(name),
        ticker_symbol: ticker,
        is_cash_equivalent: Some(entry.kind == Kind::Cash),
        security_type: Some(security_type.to_owned()),
        subtype: Some(entry.subtype.to_owned()),
        close_price: (entry.kind != Kind::FixedIncome).then(|| dec(entry.price)),
        close_price_as_of: (entry.kind != Kind::FixedIncome).then_some(today - Days::new(1)),
        update_datetime: None,
        iso_currency_code: Some(currency.to_owned()),
        unofficial_currency_code: None,
        market_identifier_code: matches!(entry.kind, Kind::Equity | Kind::Etf)
            .then(|| "XNAS".to_owned()),
        sector: entry.sector.map(str::to_owned),
        industry: entry.industry.map(str::to_owned),
        cfi_code: None,
        option_contract: (entry.kind == Kind::Option).then(|| OptionContract {
            contract_type: "call".to_owned(),
            expiration_date: NaiveDate::from_ymd_opt(2027, 1, 15).expect("date"),
            strike_price: dec("355"),
            underlying_security_ticker: "NFLX".to_owned(),
        }),
        fixed_income: (entry.kind == Kind::FixedIncome).then(|| FixedIncome {
            yield_rate: Some(YieldRate {
                percentage: dec("5.12"),
                rate_type: Some("coupon_equivalent".to_owned()),
            }),
            maturity_date: Some(today + Days::new(120)),
            issue_date: Some(today - Days::new(60)),
            face_value: Some(dec("100")),
        }),
    }
}

/// Everything Plaid knows about one simulated item.
#[derive(Clone, Debug, Default)]
pub struct ItemData {
    pub accounts: Vec<Account>,
    pub securities: Vec<Security>,
    pub holdings: Vec<Holding>,
    /// Newest first, in Plaid's stable order.
    pub transactions: Vec<InvestmentTransaction>,
}

/// The accounts of an item and the catalogue entries each holds.
const ACCOUNTS: &[(&str, &str, &str, &[&str])] = &[
    (
        "Plaid Brokerage",
        "investment",
        "brokerage",
        &["aapl", "msft", "achn", "vti", "nflx-call", "tbill", "cash"],
    ),
    ("Plaid IRA", "investment", "ira", &["tiger", "spy", "cash"]),
    (
        "Plaid 401k",
        "investment",
        "401k",
        &["dbltx", "vti", "tiger"],
    ),
    (
        "Plaid Crypto Exchange Account",
        "investment",
        "crypto exchange",
        &["btc", "doge"],
    ),
    ("Plaid Money Market", "depository", "money market", &[]),
];

/// Every (type, subtype) pair the reference lists, plus the four spec subtypes without a
/// listed type (put where they belong).
pub const TYPE_SUBTYPES: &[(&str, &str)] = &[
    ("buy", "assignment"),
    ("buy", "contribution"),
    ("buy", "buy"),
    ("buy", "buy to cover"),
    ("buy", "dividend reinvestment"),
    ("buy", "interest reinvestment"),
    ("buy", "long-term capital gain reinvestment"),
    ("buy", "short-term capital gain reinvestment"),
    ("sell", "distribution"),
    ("sell", "exercise"),
    ("sell", "sell"),
    ("sell", "sell short"),
    ("cash", "account fee"),
    ("cash", "contribution"),
    ("cash", "deposit"),
    ("cash", "dividend"),
    ("cash", "stock distribution"),
    ("cash", "interest"),
    ("cash", "legal fee"),
    ("cash", "long-term capital gain"),
    ("cash", "management fee"),
    ("cash", "margin expense"),
    ("cash", "non-qualified dividend"),
    ("cash", "non-resident tax"),
    ("cash", "pending credit"),
    ("cash", "pending debit"),
    ("cash", "qualified dividend"),
    ("cash", "short-term capital gain"),
    ("cash", "tax"),
    ("cash", "tax withheld"),
    ("cash", "transfer fee"),
    ("cash", "trust fee"),
    ("cash", "unqualified gain"),
    ("cash", "withdrawal"),
    ("fee", "account fee"),
    ("fee", "adjustment"),
    ("fee", "dividend"),
    ("fee", "interest"),
    ("fee", "interest receivable"),
    ("fee", "long-term capital gain"),
    ("fee", "legal fee"),
    ("fee", "management fee"),
    ("fee", "margin expense"),
    ("fee", "non-qualified dividend"),
    ("fee", "non-resident tax"),
    ("fee", "qualified dividend"),
    ("fee", "return of principal"),
    ("fee", "short-term capital gain"),
    ("fee", "stock distribution"),
    ("fee", "tax"),
    ("fee", "tax withheld"),
    ("fee", "transfer fee"),
    ("fee", "trust fee"),
    ("fee", "unqualified gain"),
    ("transfer", "assignment"),
    ("transfer", "adjustment"),
    ("transfer", "exercise"),
    ("transfer", "expire"),
    ("transfer", "merger"),
    ("transfer", "request"),
    ("transfer", "send"),
    ("transfer", "spin off"),
    ("transfer", "split"),
    ("transfer", "trade"),
    ("transfer", "transfer"),
    ("fee", "fund fee"),
    ("fee", "miscellaneous fee"),
    ("cash", "loan payment"),
    ("transfer", "rebalance"),
];

/// Cash that comes in (negative amount in Plaid's convention).
fn is_income(subtype: &str) -> bool {
    matches!(
        subtype,
        "contribution"
            | "deposit"
            | "dividend"
            | "stock distribution"
            | "interest"
            | "long-term capital gain"
            | "non-qualified dividend"
            | "pending credit"
            | "qualified dividend"
            | "short-term capital gain"
            | "unqualified gain"
    )
}

/// Generates an item's data from its seed, dated up to `today`, with `transactions`
/// transactions (at least one per type/subtype pair).
pub fn generate(
    seed: u64,
    institution: &InstitutionInfo,
    today: NaiveDate,
    transactions: usize,
) -> ItemData {
    let mut rng = Rng::new(seed);
    let currency = institution.currency;
    let catalog_seed = hash("catalog");
    let mut accounts = Vec::new();
    let mut securities: Vec<Security> = Vec::new();
    let mut holdings = Vec::new();
    let mut held: Vec<(String, Security)> = Vec::new();
    for (name, account_type, subtype, keys) in ACCOUNTS {
        let account_id = rng.id();
        let mut total = Decimal::ZERO;
        for key in *keys {
            let entry = CATALOG
                .iter()
                .find(|e| e.key == *key)
                .expect("catalogue key");
            // In Canada the brokerage holds Shopify instead of Apple.
            let entry = if currency == "CAD" && entry.key == "aapl" {
                CATALOG.iter().find(|e| e.key == "shop").expect("shop")
            } else {
                entry
            };
            let security = security(catalog_seed, entry, currency, today);
            let price = security.close_price.unwrap_or_else(|| dec(entry.price));
            let quantity = match entry.kind {
                Kind::Crypto => rng.decimal(0, 3, 8) + Decimal::new(1, 8),
                Kind::Option => Decimal::from(100 * (1 + rng.below(5))),
                Kind::Cash => rng.decimal(100, 20_000, 2),
                Kind::FixedIncome => Decimal::from(10 + rng.below(90)),
                _ => rng.decimal(1, 300, 3),
            };
            let value = round2(quantity * price);
            total += value;
            // Every fifth position comes without a cost basis, as some institutions send.
            let cost_basis = (rng.below(5) != 0 && entry.kind != Kind::Cash)
                .then(|| round2(value * rng.decimal(0, 1, 2) + value * Decimal::new(7, 1)))
                .or((entry.kind == Kind::Cash).then_some(value));
            holdings.push(Holding {
                account_id: account_id.clone(),
                security_id: security.security_id.clone(),
                institution_price: price,
                // Priced by the institution today; close prices are yesterday's.
                institution_price_as_of: Some(today),
                institution_price_datetime: None,
                institution_value: value,
                cost_basis,
                quantity,
                iso_currency_code: Some(currency.to_owned()),
                unofficial_currency_code: None,
                vested_quantity: None,
                vested_value: None,
                tax_lots: (entry.kind == Kind::Equity).then(Vec::new),
            });
            if !securities
                .iter()
                .any(|s| s.security_id == security.security_id)
            {
                securities.push(security.clone());
            }
            held.push((account_id.clone(), security));
        }
        let investment = *account_type == "investment";
        accounts.push(Account {
            account_id,
            balances: AccountBalances {
                available: Some(if investment {
                    round2(total / Decimal::TEN)
                } else {
                    dec("43200")
                }),
                current: Some(if investment { total } else { dec("43200") }),
                limit: None,
                iso_currency_code: Some(currency.to_owned()),
                unofficial_currency_code: None,
                margin_loan_amount: investment.then_some(Decimal::ZERO),
                last_updated_datetime: None,
            },
            mask: Some(format!("{:04}", rng.below(10_000))),
            name: (*name).to_owned(),
            official_name: Some(format!("{name} ({})", institution.name)),
            account_type: (*account_type).to_owned(),
            subtype: Some((*subtype).to_owned()),
            persistent_account_id: None,
            holder_category: Some("personal".to_owned()),
        });
    }

    // Exactly `transactions` rows (at least one per pair, plus the cancel row).
    let count = transactions.max(TYPE_SUBTYPES.len() + 1);
    let mut list = Vec::with_capacity(count);
    for n in 0..count - 1 {
        let (kind, subtype) = if let Some(&pair) = TYPE_SUBTYPES.get(n) {
            pair
        } else {
            // Mostly trades and dividends, like a real account.
            match rng.below(10) {
                0..=3 => ("buy", "buy"),
                4..=5 => ("sell", "sell"),
                6..=7 => ("cash", "dividend"),
                8 => ("cash", "contribution"),
                _ => TYPE_SUBTYPES[rng.below(TYPE_SUBTYPES.len() as u64) as usize],
            }
        };
        let dividend = matches!(
            subtype,
            "dividend" | "qualified dividend" | "non-qualified dividend"
        ) && kind == "cash";
        // Dividends come from equities and funds; other cash and fee rows name no security.
        let candidates: Vec<&(String, Security)> = held
            .iter()
            .filter(|(_, s)| {
                !dividend
                    || matches!(
                        s.security_type.as_deref(),
                        Some("equity" | "etf" | "mutual fund")
                    )
            })
            .collect();
        let (account_id, security) = candidates[rng.below(candidates.len() as u64) as usize];
        let date = today - Days::new(rng.below(700));
        let price = security.close_price.unwrap_or_else(|| dec("98.715"));
        let fees = if matches!(kind, "buy" | "sell") && rng.below(3) == 0 {
            dec("4.95")
        } else {
            Decimal::ZERO
        };
        let units = if security.security_type.as_deref() == Some("cryptocurrency") {
            rng.decimal(0, 1, 8) + Decimal::new(1, 8)
        } else {
            rng.decimal(1, 50, 3)
        };
        let (quantity, amount, price, security_id) = match kind {
            "buy" => (
                units,
                round2(units * price) + fees,
                price,
                Some(security.security_id.clone()),
            ),
            "sell" => (
                -units,
                -round2(units * price) + fees,
                price,
                Some(security.security_id.clone()),
            ),
            "transfer" => (
                units,
                Decimal::ZERO,
                price,
                Some(security.security_id.clone()),
            ),
            "fee" => (Decimal::ZERO, rng.decimal(1, 60, 2), Decimal::ZERO, None),
            _ => {
                let cash = rng.decimal(1, 900, 2);
                let amount = if is_income(subtype) { -cash } else { cash };
                (
                    Decimal::ZERO,
                    amount,
                    Decimal::ZERO,
                    dividend.then(|| security.security_id.clone()),
                )
            }
        };
        let name = match &security_id {
            Some(_) => format!(
                "{} {}",
                subtype.to_uppercase(),
                security.name.clone().unwrap_or_default()
            ),
            None => subtype.to_uppercase(),
        };
        list.push(InvestmentTransaction {
            investment_transaction_id: rng.id(),
            cancel_transaction_id: None,
            account_id: account_id.clone(),
            security_id,
            date,
            transaction_datetime: None,
            name,
            quantity,
            amount,
            price,
            fees: Some(fees),
            transaction_type: kind.to_owned(),
            subtype: subtype.to_owned(),
            iso_currency_code: Some(currency.to_owned()),
            unofficial_currency_code: None,
        });
    }
    // A cancelled trade and its cancel row, so that the `cancel` type is covered too.
    if let Some(original) = list.iter().find(|t| t.transaction_type == "buy").cloned() {
        list.push(cancel_of(&mut rng, &original, original.date));
    }
    sort_newest_first(&mut list);
    ItemData {
        accounts,
        securities,
        holdings,
        transactions: list,
    }
}

/// The `cancel` row that reverses `original`.
pub fn cancel_of(
    rng: &mut Rng,
    original: &InvestmentTransaction,
    date: NaiveDate,
) -> InvestmentTransaction {
    InvestmentTransaction {
        investment_transaction_id: rng.id(),
        cancel_transaction_id: None,
        date,
        name: format!("CANCEL {}", original.name),
        quantity: -original.quantity,
        amount: -original.amount,
        transaction_type: "cancel".to_owned(),
        ..original.clone()
    }
}

/// Plaid's order: newest first, stable (ties by id).
pub fn sort_newest_first(list: &mut [InvestmentTransaction]) {
    list.sort_by(|a, b| {
        b.date.cmp(&a.date).then_with(|| {
            b.investment_transaction_id
                .cmp(&a.investment_transaction_id)
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_deterministic_and_covers_every_pair() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let a = generate(7, &INSTITUTIONS[0], today, 300);
        let b = generate(7, &INSTITUTIONS[0], today, 300);
        assert_eq!(a.transactions, b.transactions);
        assert_eq!(a.holdings, b.holdings);
        assert_eq!(a.transactions.len(), 300);
        for (t, s) in TYPE_SUBTYPES {
            assert!(
                a.transactions
                    .iter()
                    .any(|x| x.transaction_type == *t && x.subtype == *s),
                "{t}/{s}"
            );
        }
        assert!(
            a.transactions
                .iter()
                .any(|x| x.transaction_type == "cancel")
        );
        let types: Vec<_> = a
            .securities
            .iter()
            .filter_map(|s| s.security_type.clone())
            .collect();
        for t in [
            "cash",
            "equity",
            "etf",
            "mutual fund",
            "fixed income",
            "derivative",
            "cryptocurrency",
        ] {
            assert!(types.iter().any(|x| x == t), "{t}");
        }
        assert!(a.securities.iter().any(
            |s| s.security_type.as_deref() == Some("mutual fund") && s.ticker_symbol.is_none()
        ));
        assert!(a.securities.iter().any(|s| s.option_contract.is_some()));
        assert!(a.holdings.iter().any(|h| h.quantity.scale() >= 8));
        let oldest = a.transactions.last().unwrap().date;
        assert!(oldest >= today.checked_sub_months(chrono::Months::new(24)).unwrap());
        let c = generate(8, &INSTITUTIONS[0], today, 300);
        assert_ne!(a.transactions, c.transactions, "another seed, other data");
    }
}
