//! Business-day calendar: dates, weekends, month ends and day-count fractions.
//!
//! Weekends matter for money: a loan made on Friday is repaid on Monday and accrues three
//! calendar days, which is how overnight interest is computed in every real system.
//! Holidays are not modelled (a scenario parameter could add them later).

use serde::{Deserialize, Serialize};

/// A civil date, stored as days since 1970-01-01 (the Arrow `Date32` convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

impl Date {
    /// Builds a date from year, month (1-12) and day (1-31); `None` if it does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if month <= 2 { year - 1 } else { year } as i64;
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Date((era * 146_097 + doe - 719_468) as i32))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.trim().splitn(3, '-');
        let y = parts.next()?.parse().ok()?;
        let m = parts.next()?.parse().ok()?;
        let d = parts.next()?.parse().ok()?;
        Date::from_ymd(y, m, d)
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 as i64 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = (yoe + era * 400 + if m <= 2 { 1 } else { 0 }) as i32;
        (y, m, d)
    }

    /// Monday = 0 ... Sunday = 6.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        ((self.0 as i64 + 3).rem_euclid(7)) as u32
    }

    pub fn is_weekend(self) -> bool {
        self.weekday() >= 5
    }

    pub fn add_days(self, days: i32) -> Date {
        Date(self.0 + days)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// How a number of calendar days becomes a fraction of a year for interest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DayCount {
    /// Money-market convention of the euro area and the US: actual days / 360.
    #[serde(rename = "ACT/360")]
    Act360,
    /// Sterling and some Nordic markets: actual days / 365.
    #[serde(rename = "ACT/365")]
    Act365,
}

impl DayCount {
    pub fn year_fraction(self, calendar_days: i32) -> f64 {
        match self {
            DayCount::Act360 => calendar_days as f64 / 360.0,
            DayCount::Act365 => calendar_days as f64 / 365.0,
        }
    }

    pub fn basis_days(self) -> f64 {
        match self {
            DayCount::Act360 => 360.0,
            DayCount::Act365 => 365.0,
        }
    }
}

/// One simulated business day's place in the calendar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BusinessDay {
    pub index: u32,
    pub date: Date,
    /// Calendar days until the next business day (3 over a weekend): the overnight tenor.
    pub overnight_days: i32,
    /// Monday = 0 ... Friday = 4.
    pub weekday: u32,
    /// The last business day of its month.
    pub is_month_end: bool,
    /// 1-based position among the month's business days. The run's first month starts on
    /// its first day: weekdays before it (a 1 January, say) are taken for holidays.
    pub business_day_of_month: u32,
    /// Business days in the month, counted the same way (programmes paced per month spread
    /// their operations over them).
    pub business_days_in_month: u32,
}

/// Business days (Monday to Friday) of `date`'s month: (position of `date` among them,
/// 1-based, or of the last one before it; how many there are).
fn month_position(date: Date) -> (u32, u32) {
    let (y, m, d) = date.ymd();
    let first = Date::from_ymd(y, m, 1).expect("day 1 exists");
    let mut position = 0;
    let mut total = 0;
    let mut day = first;
    while day.ymd().1 == m {
        if !day.is_weekend() {
            total += 1;
            if day.ymd().2 <= d {
                position += 1;
            }
        }
        day = day.add_days(1);
    }
    (position, total)
}

/// The run's business days, precomputed once (the same for every Monte Carlo run).
#[derive(Clone, Debug)]
pub struct Calendar {
    days: Vec<BusinessDay>,
}

impl Calendar {
    /// `count` business days starting at `start` (rolled forward if it falls on a weekend).
    pub fn new(start: Date, count: u32) -> Calendar {
        let mut dates = Vec::with_capacity(count as usize + 1);
        let mut d = start;
        while (dates.len() as u32) < count + 1 {
            if !d.is_weekend() {
                dates.push(d);
            }
            d = d.add_days(1);
        }
        let mut days = Vec::with_capacity(count as usize);
        let (skipped, _) = month_position(dates[0]);
        let first_month = dates[0].ymd().1;
        for i in 0..count as usize {
            let date = dates[i];
            let next = dates[i + 1];
            let (y, m, _) = date.ymd();
            let (_, next_m, _) = next.ymd();
            let (mut bdom, mut in_month) = month_position(date);
            if m == first_month && y == dates[0].ymd().0 {
                // Weekdays before the start in its month.
                bdom -= skipped - 1;
                in_month -= skipped - 1;
            }
            days.push(BusinessDay {
                index: i as u32,
                date,
                overnight_days: next.0 - date.0,
                weekday: date.weekday(),
                is_month_end: next_m != m,
                business_day_of_month: bdom,
                business_days_in_month: in_month,
            });
        }
        Calendar { days }
    }

    pub fn days(&self) -> &[BusinessDay] {
        &self.days
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Index of the first business day on or after `date`, if within the calendar.
    pub fn index_on_or_after(&self, date: Date) -> Option<u32> {
        let i = self.days.partition_point(|d| d.date < date);
        self.days.get(i).map(|d| d.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_weekdays() {
        for s in [
            "1970-01-01",
            "2000-02-29",
            "2015-01-22",
            "2024-12-31",
            "1969-12-31",
        ] {
            let d = Date::parse(s).unwrap();
            assert_eq!(d.to_string(), s);
        }
        assert_eq!(Date::parse("1970-01-01").unwrap().0, 0);
        assert_eq!(Date::parse("2015-01-22").unwrap().weekday(), 3); // a Thursday
        assert!(Date::parse("2015-02-29").is_none());
    }

    #[test]
    fn friday_loans_run_three_days_and_month_ends_are_marked() {
        // 2015-01-30 is a Friday and the last business day of January.
        let cal = Calendar::new(Date::parse("2015-01-28").unwrap(), 5);
        let fri = cal.days()[2];
        assert_eq!(fri.date.to_string(), "2015-01-30");
        assert_eq!(fri.overnight_days, 3);
        assert!(fri.is_month_end);
        assert_eq!(cal.days()[3].business_day_of_month, 1);
    }
}
