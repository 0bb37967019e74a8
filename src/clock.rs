//! The one clock of the app: every "now" and "today" (sync windows, snapshot dates, token
//! times, the default end of a period, the simulator's calendar) is read from it.
//!
//! Production runs on the system clock. Tests and the simulator's scripted worlds run on a
//! manual clock that they set and advance, so a test can link on day 1, sync on days 3, 10
//! and 40 and query on day 41 without waiting. "Today" is the date in the configured time
//! zone (`INVESTMENTS_TIMEZONE`, default UTC): an evening sync in New York is dated that
//! evening, not tomorrow in UTC.

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

/// Cheap to clone; clones share the same time.
#[derive(Clone)]
pub struct Clock(Arc<Inner>);

struct Inner {
    /// `None`: the system clock; `Some`: a manual one.
    manual: Option<Mutex<DateTime<Utc>>>,
    zone: Tz,
}

impl Clock {
    /// The system clock, dates in UTC.
    pub fn system() -> Clock {
        Clock::system_in(Tz::UTC)
    }

    /// The system clock, dates in `zone`.
    pub fn system_in(zone: Tz) -> Clock {
        Clock(Arc::new(Inner { manual: None, zone }))
    }

    /// A clock that stands at `now` until it is set or advanced, dates in UTC.
    pub fn manual(now: DateTime<Utc>) -> Clock {
        Clock::manual_in(now, Tz::UTC)
    }

    /// A manual clock with dates in `zone`.
    pub fn manual_in(now: DateTime<Utc>, zone: Tz) -> Clock {
        Clock(Arc::new(Inner {
            manual: Some(Mutex::new(now)),
            zone,
        }))
    }

    /// A manual clock at noon (UTC) of `day`.
    pub fn at_noon(day: NaiveDate) -> Clock {
        Clock::manual(noon(day))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0.manual {
            Some(now) => *now.lock().expect("not poisoned"),
            None => Utc::now(),
        }
    }

    /// Today's date in the clock's time zone.
    pub fn today(&self) -> NaiveDate {
        self.date_of(self.now())
    }

    /// The date of an instant in the clock's time zone.
    pub fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.0.zone).date_naive()
    }

    pub fn zone(&self) -> Tz {
        self.0.zone
    }

    /// True for a manual clock.
    pub fn is_manual(&self) -> bool {
        self.0.manual.is_some()
    }

    /// Moves a manual clock to `now`. Panics on the system clock: only tests and the
    /// simulator's scripted worlds move time.
    pub fn set(&self, now: DateTime<Utc>) {
        let manual = self.0.manual.as_ref().expect("only a manual clock is set");
        *manual.lock().expect("not poisoned") = now;
    }

    /// Moves a manual clock to noon (UTC) of `day`.
    pub fn set_day(&self, day: NaiveDate) {
        self.set(noon(day));
    }

    /// Moves a manual clock forward by whole days.
    pub fn advance_days(&self, days: u64) {
        self.set(self.now() + Days::new(days));
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_manual() { "manual" } else { "system" };
        write!(f, "Clock({kind}, {}, {})", self.0.zone, self.now())
    }
}

fn noon(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(12, 0, 0).expect("noon exists").and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_date_in_the_clock_zone() {
        // 23:30 in New York on 2026-03-02 is 04:30 UTC on 2026-03-03.
        let instant: DateTime<Utc> = "2026-03-03T04:30:00Z".parse().unwrap();
        let ny = Clock::manual_in(instant, chrono_tz::America::New_York);
        assert_eq!(ny.today(), "2026-03-02".parse::<NaiveDate>().unwrap());
        assert_eq!(
            Clock::manual(instant).today(),
            "2026-03-03".parse::<NaiveDate>().unwrap()
        );
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = Clock::at_noon("2026-01-01".parse().unwrap());
        let shared = clock.clone();
        clock.advance_days(39);
        assert_eq!(shared.today(), "2026-02-09".parse::<NaiveDate>().unwrap());
    }
}
