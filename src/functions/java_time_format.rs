//! Java `DateTimeFormatter` patterns (as used by ksqlDB's time functions) on top of chrono, and time zones.
//!
//! A pattern such as `yyyy-MM-dd'T'HH:mm:ss.SSSX` is compiled once into [`JavaDateFormat`], which formats
//! epoch milliseconds and parses text back into them with Java's field rules:
//!
//! - letters: `G y u M L d D E a H k K h m s S n X x Z O z VV` (anything else is an error naming the letter);
//!   counts follow Java (`M` = 1, `MM` = 01, `MMM` = Jan, `MMMM` = January; `yy` is 2000-2099 when parsing;
//!   `SSS` is milliseconds, `S` tenths; `X` prints `Z` for UTC);
//! - `'quoted literals'`, `''` for a quote, `[optional sections]`, other characters literal;
//! - parsing is strict about widths of fixed-width fields, with Java's adjacent-value rule (`yyyyMMdd`), and
//!   lenient about the case of month, day and AM/PM names; a parsed day-of-week must match the date;
//! - missing fields default like ksqlDB's parser: 1970-01-01T00:00:00.000 in the given zone; a day-of-month
//!   past the end of the month is clamped (Java's SMART resolver).
//!
//! Zones ([`Zone`]): `UTC`, `GMT`, `UT`, `Z`, fixed offsets (`+02:00`, `-0530`, `+2`), `GMT+2`/`UTC-03:30`,
//! and IANA region names (`Europe/Paris`) through chrono-tz. `PST`-style names are rejected as zone ids (as
//! Java's `ZoneId.of` does). When formatting, `z`/`zz`/`zzz` print the zone's short name at the instant as
//! Java does: the tz database abbreviation for a region (`PDT`, `CET`, `UTC`), the offset id for a fixed offset
//! (`Z`, `+02:00`), `GMT+02:00` for a prefixed offset; `zzzz` (Java's long name, `Pacific Daylight Time`) and
//! `VV` print Java's normalised zone id (`America/Los_Angeles`, `+02:00`, `GMT+02:00`).

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone,
    Timelike,
};
use chrono_tz::{OffsetName, Tz};

/// Errors are plain messages; the SQL functions wrap them with their name and the offending value.
pub type FormatResult<T> = std::result::Result<T, String>;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A time zone: a fixed offset or an IANA region.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Java's normalised id (`ZoneId.getId()`): `Z`, `+02:00`, `GMT+02:00`, `UTC`, `Europe/Paris`.
    java_id: String,
    /// The short name of a zone whose name does not depend on the instant (all but regions).
    short_name: String,
    kind: ZoneKind,
}

#[derive(Debug, Clone, Copy)]
enum ZoneKind {
    Fixed(FixedOffset),
    Region(Tz),
}

/// Java's id of a `ZoneOffset`: `Z` for zero, else `+hh:mm` or `+hh:mm:ss`.
fn offset_id(offset: FixedOffset) -> String {
    let total = offset.local_minus_utc();
    if total == 0 {
        return "Z".into();
    }
    let abs = total.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    let sign = if total < 0 { '-' } else { '+' };
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

impl Zone {
    /// UTC, the zone used when a function is called without one (ksqlDB uses the server's default zone).
    pub fn utc() -> Self {
        Self {
            java_id: "UTC".into(),
            short_name: "UTC".into(),
            kind: ZoneKind::Fixed(Utc0::OFFSET),
        }
    }

    fn fixed(java_id: impl Into<String>, short_name: impl Into<String>, offset: FixedOffset) -> Self {
        Self {
            java_id: java_id.into(),
            short_name: short_name.into(),
            kind: ZoneKind::Fixed(offset),
        }
    }

    /// Parses a zone id (see the module docs for the accepted forms).
    pub fn parse(id: &str) -> FormatResult<Self> {
        let t = id.trim();
        let upper = t.to_ascii_uppercase();
        // Java's ids and short names of the zero-offset zones.
        let named = match upper.as_str() {
            "Z" => Some(("Z", "Z")),
            "UTC" => Some(("UTC", "UTC")),
            "GMT" => Some(("GMT", "GMT")),
            "UT" => Some(("UT", "UT")),
            "UCT" => Some(("UCT", "UTC")),
            "ETC/UTC" => Some(("Etc/UTC", "UTC")),
            "ETC/GMT" => Some(("Etc/GMT", "GMT")),
            _ => None,
        };
        if let Some((java_id, short)) = named {
            return Ok(Self::fixed(java_id, short, Utc0::OFFSET));
        }
        for prefix in ["UTC", "GMT", "UT"] {
            if let Some(rest) = upper.strip_prefix(prefix)
                && rest.starts_with(['+', '-'])
            {
                let offset = parse_offset(&t[prefix.len()..])?;
                let java_id = if offset.local_minus_utc() == 0 {
                    prefix.to_string()
                } else {
                    format!("{prefix}{}", offset_id(offset))
                };
                return Ok(Self::fixed(java_id.clone(), java_id, offset));
            }
        }
        if t.starts_with(['+', '-']) {
            let offset = parse_offset(t)?;
            return Ok(Self::fixed(offset_id(offset), offset_id(offset), offset));
        }
        match Tz::from_str(t) {
            Ok(tz) if !t.is_empty() => Ok(Self {
                java_id: tz.name().to_string(),
                short_name: String::new(),
                kind: ZoneKind::Region(tz),
            }),
            _ => Err(format!(
                "unknown time zone '{t}'; use UTC, a fixed offset such as +02:00 or GMT+2, or an IANA name such as \
                 Europe/Paris"
            )),
        }
    }

    /// Java's normalised id (`ZoneId.getId()`), e.g. `+02:00` for `+2`.
    pub fn id(&self) -> &str {
        &self.java_id
    }

    /// Java's short zone name at the UTC time `utc`: the abbreviation in force for a region (`PDT`, `CET`),
    /// the id otherwise.
    fn short_name_at(&self, utc: &NaiveDateTime) -> String {
        match self.kind {
            ZoneKind::Fixed(_) => self.short_name.clone(),
            ZoneKind::Region(tz) => match tz.offset_from_utc_datetime(utc).abbreviation() {
                Some(a) if !a.is_empty() => a.to_string(),
                _ => self.java_id.clone(),
            },
        }
    }

    fn offset_at_utc(&self, utc: &NaiveDateTime) -> FixedOffset {
        match self.kind {
            ZoneKind::Fixed(o) => o,
            ZoneKind::Region(tz) => tz.offset_from_utc_datetime(utc).fix(),
        }
    }

    /// The UTC time of a local time in this zone. Like Java's `ZonedDateTime.of`, an ambiguous time (clocks
    /// going back) takes the earlier instant, and a time in a gap (clocks going forward) uses the offset from
    /// before the gap.
    fn local_to_utc(&self, local: &NaiveDateTime) -> FormatResult<NaiveDateTime> {
        let offset = match self.kind {
            ZoneKind::Fixed(o) => o,
            ZoneKind::Region(tz) => match tz.offset_from_local_datetime(local) {
                LocalResult::Single(o) | LocalResult::Ambiguous(o, _) => o.fix(),
                LocalResult::None => {
                    let before = local.checked_sub_signed(TimeDelta::days(1)).unwrap_or(*local);
                    tz.offset_from_utc_datetime(&before).fix()
                }
            },
        };
        local
            .checked_sub_signed(TimeDelta::seconds(offset.local_minus_utc() as i64))
            .ok_or_else(|| format!("{local} is out of range"))
    }
}

/// Zero offset without a fallible constructor.
struct Utc0;
impl Utc0 {
    const OFFSET: FixedOffset = match FixedOffset::east_opt(0) {
        Some(o) => o,
        None => panic!("zero is a valid offset"),
    };
}

/// `+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss`, `+hhmmss` (or `-`), at most 18 hours.
fn parse_offset(s: &str) -> FormatResult<FixedOffset> {
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    let offset = scan_signed_offset(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!("invalid offset '{s}'"));
    }
    Ok(offset)
}

/// Reads digits at `pos`: up to `max` of them, returning the value and how many were read.
fn scan_digits(text: &[char], pos: &mut usize, max: usize) -> (i64, usize) {
    let mut value: i64 = 0;
    let mut n = 0;
    while n < max && *pos < text.len() && text[*pos].is_ascii_digit() {
        value = value * 10 + text[*pos].to_digit(10).unwrap_or(0) as i64;
        *pos += 1;
        n += 1;
    }
    (value, n)
}

/// A signed offset at `pos` in any of the forms of [`parse_offset`].
fn scan_signed_offset(text: &[char], pos: &mut usize) -> FormatResult<FixedOffset> {
    let sign = match text.get(*pos) {
        Some('+') => 1,
        Some('-') => -1,
        _ => return Err(format!("expected an offset at index {}", *pos)),
    };
    *pos += 1;
    let start = *pos;
    let (digits, n) = scan_digits(text, pos, 6);
    let (h, m, s) = match n {
        1 | 2 => {
            let h = digits;
            let mut m = 0;
            let mut s = 0;
            if text.get(*pos) == Some(&':') && text.get(*pos + 1).is_some_and(char::is_ascii_digit) {
                *pos += 1;
                let (v, k) = scan_digits(text, pos, 2);
                if k != 2 {
                    return Err(format!("invalid offset minutes at index {}", *pos));
                }
                m = v;
                if text.get(*pos) == Some(&':') && text.get(*pos + 1).is_some_and(char::is_ascii_digit) {
                    *pos += 1;
                    let (v, k) = scan_digits(text, pos, 2);
                    if k != 2 {
                        return Err(format!("invalid offset seconds at index {}", *pos));
                    }
                    s = v;
                }
            }
            (h, m, s)
        }
        4 => (digits / 100, digits % 100, 0),
        6 => (digits / 10000, digits / 100 % 100, digits % 100),
        _ => return Err(format!("invalid offset at index {start}")),
    };
    if h > 18 || m > 59 || s > 59 {
        return Err(format!("offset out of range at index {start}"));
    }
    let secs = sign * (h * 3600 + m * 60 + s);
    FixedOffset::east_opt(secs as i32).ok_or_else(|| format!("offset out of range at index {start}"))
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    Field(char, usize),
    Optional(Vec<Item>),
}

/// A compiled Java date-time pattern.
#[derive(Debug, Clone)]
pub struct JavaDateFormat {
    items: Vec<Item>,
}

fn check_count(letter: char, count: usize) -> FormatResult<()> {
    let max = match letter {
        'G' | 'M' | 'L' | 'E' | 'X' | 'x' | 'Z' => 5,
        'y' | 'u' | 'n' => 19,
        'd' | 'h' | 'H' | 'k' | 'K' | 'm' | 's' => 2,
        'D' => 3,
        'a' => 1,
        'S' => 9,
        'z' => 4,
        'V' => {
            return if count == 2 {
                Ok(())
            } else {
                Err("pattern letter 'V' must be used as 'VV'".into())
            };
        }
        'O' => {
            return if count == 1 || count == 4 {
                Ok(())
            } else {
                Err("pattern letter 'O' must be used as 'O' or 'OOOO'".into())
            };
        }
        other => return Err(format!("unsupported pattern letter '{other}'")),
    };
    if count > max {
        Err(format!("too many pattern letters '{letter}' ({count})"))
    } else {
        Ok(())
    }
}

impl JavaDateFormat {
    /// Compiles a pattern; `Err` names the problem (unsupported letter, unterminated quote, ...).
    pub fn compile(pattern: &str) -> FormatResult<Self> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
        let push = |stack: &mut Vec<Vec<Item>>, item: Item| {
            let top = stack.last_mut().expect("the stack always holds the outer sequence");
            if let (Item::Literal(add), Some(Item::Literal(prev))) = (&item, top.last_mut()) {
                prev.push_str(add);
            } else {
                top.push(item);
            }
        };
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_alphabetic() {
                let count = chars[i..].iter().take_while(|&&x| x == c).count();
                check_count(c, count)?;
                push(&mut stack, Item::Field(c, count));
                i += count;
            } else if c == '\'' {
                i += 1;
                if chars.get(i) == Some(&'\'') {
                    push(&mut stack, Item::Literal("'".into()));
                    i += 1;
                    continue;
                }
                let mut literal = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated quote in pattern".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            literal.push(other);
                            i += 1;
                        }
                    }
                }
                push(&mut stack, Item::Literal(literal));
            } else if c == '[' {
                stack.push(Vec::new());
                i += 1;
            } else if c == ']' {
                if stack.len() == 1 {
                    return Err("']' without a matching '[' in pattern".into());
                }
                let inner = stack.pop().unwrap_or_default();
                push(&mut stack, Item::Optional(inner));
                i += 1;
            } else if matches!(c, '{' | '}' | '#') {
                return Err(format!("pattern character '{c}' is reserved"));
            } else {
                push(&mut stack, Item::Literal(c.to_string()));
                i += 1;
            }
        }
        // Java closes optional sections left open at the end of the pattern.
        while stack.len() > 1 {
            let inner = stack.pop().unwrap_or_default();
            push(&mut stack, Item::Optional(inner));
        }
        Ok(Self {
            items: stack.pop().unwrap_or_default(),
        })
    }

    /// Formats epoch milliseconds in `zone`.
    pub fn format_millis(&self, millis: i64, zone: &Zone) -> FormatResult<String> {
        let utc = DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| format!("timestamp {millis} is out of range"))?
            .naive_utc();
        let offset = zone.offset_at_utc(&utc);
        let local = utc
            .checked_add_signed(TimeDelta::seconds(offset.local_minus_utc() as i64))
            .ok_or_else(|| format!("timestamp {millis} is out of range"))?;
        let names = ZoneNames {
            id: zone.id(),
            short: zone.short_name_at(&utc),
        };
        let mut out = String::new();
        format_items(&self.items, &local, offset, &names, &mut out);
        Ok(out)
    }

    /// Parses `text` into epoch milliseconds; fields missing from the pattern default to 1970-01-01T00:00 and
    /// the zone to `default_zone` unless the text carries an offset or zone.
    pub fn parse_millis(&self, text: &str, default_zone: &Zone) -> FormatResult<i64> {
        let chars: Vec<char> = text.chars().collect();
        let mut pos = 0;
        let mut fields = Parsed::default();
        parse_items(&self.items, &chars, &mut pos, &mut fields)?;
        if pos != chars.len() {
            return Err(format!("unparsed text found at index {pos}"));
        }
        fields.resolve(default_zone)
    }
}

fn pad(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", value.unsigned_abs()));
}

/// Java's `SignStyle.EXCEEDS_PAD`: a `+` when a positive value has more digits than the pad width.
fn pad_exceeds(out: &mut String, value: i64, width: usize) {
    if value > 0 && value.unsigned_abs().to_string().len() > width {
        out.push('+');
    }
    pad(out, value, width);
}

/// `+HH`, `+HHmm` (minutes only when non-zero), `+HHMM`, `+HH:MM`, `+HHMMss`, `+HH:MM:ss` for counts 1 to 5.
fn format_offset(out: &mut String, offset: FixedOffset, count: usize, z_for_zero: bool) {
    let total = offset.local_minus_utc();
    if total == 0 && z_for_zero {
        out.push('Z');
        return;
    }
    let abs = total.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    out.push(if total < 0 { '-' } else { '+' });
    out.push_str(&format!("{h:02}"));
    let colon = if count == 3 || count == 5 { ":" } else { "" };
    match count {
        1 if m != 0 => out.push_str(&format!("{m:02}")),
        1 => {}
        2 | 3 => out.push_str(&format!("{colon}{m:02}")),
        _ => {
            out.push_str(&format!("{colon}{m:02}"));
            if s != 0 {
                out.push_str(&format!("{colon}{s:02}"));
            }
        }
    }
}

/// Java's localized offset: `GMT`, `GMT+8`, `GMT+8:30` (short) or `GMT+08:00` (full).
fn format_gmt(out: &mut String, offset: FixedOffset, full: bool) {
    out.push_str("GMT");
    let total = offset.local_minus_utc();
    if total == 0 {
        return;
    }
    let abs = total.unsigned_abs();
    let (h, m) = (abs / 3600, abs / 60 % 60);
    out.push(if total < 0 { '-' } else { '+' });
    if full {
        out.push_str(&format!("{h:02}:{m:02}"));
    } else if m == 0 {
        out.push_str(&h.to_string());
    } else {
        out.push_str(&format!("{h}:{m:02}"));
    }
}

fn text_style(full: &str, count: usize) -> &str {
    match count {
        4 => full,
        5 => &full[..1],
        _ => &full[..3],
    }
}

/// How the zone prints at the instant being formatted.
struct ZoneNames<'a> {
    id: &'a str,
    short: String,
}

fn format_items(items: &[Item], t: &NaiveDateTime, offset: FixedOffset, zone: &ZoneNames, out: &mut String) {
    for item in items {
        match item {
            Item::Literal(s) => out.push_str(s),
            Item::Optional(inner) => format_items(inner, t, offset, zone, out),
            Item::Field(c, n) => {
                let n = *n;
                let year = t.year() as i64;
                match c {
                    'G' => out.push_str(match (year > 0, n) {
                        (true, 4) => "Anno Domini",
                        (false, 4) => "Before Christ",
                        (true, 5) => "A",
                        (false, 5) => "B",
                        (true, _) => "AD",
                        (false, _) => "BC",
                    }),
                    'y' | 'u' => {
                        let v = if *c == 'y' && year <= 0 { 1 - year } else { year };
                        if n == 2 {
                            pad(out, v.rem_euclid(100), 2);
                        } else if n < 4 {
                            pad(out, v, n);
                        } else {
                            pad_exceeds(out, v, n);
                        }
                    }
                    'M' | 'L' if n >= 3 => out.push_str(text_style(MONTHS[t.month0() as usize], n)),
                    'M' | 'L' => pad(out, t.month() as i64, n),
                    'd' => pad(out, t.day() as i64, n),
                    'D' => pad(out, t.ordinal() as i64, n),
                    'E' => out.push_str(text_style(DAYS[t.weekday().num_days_from_monday() as usize], n)),
                    'a' => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
                    'H' => pad(out, t.hour() as i64, n),
                    'k' => pad(out, if t.hour() == 0 { 24 } else { t.hour() as i64 }, n),
                    'K' => pad(out, (t.hour() % 12) as i64, n),
                    'h' => pad(
                        out,
                        if t.hour().is_multiple_of(12) {
                            12
                        } else {
                            (t.hour() % 12) as i64
                        },
                        n,
                    ),
                    'm' => pad(out, t.minute() as i64, n),
                    's' => pad(out, t.second() as i64, n),
                    'S' => out.push_str(&format!("{:09}", t.nanosecond() % 1_000_000_000)[..n]),
                    'n' => pad(out, (t.nanosecond() % 1_000_000_000) as i64, n),
                    'X' => format_offset(out, offset, n, true),
                    'x' => format_offset(out, offset, n, false),
                    'Z' => match n {
                        4 => format_gmt(out, offset, true),
                        5 => format_offset(out, offset, 5, true),
                        _ => format_offset(out, offset, 2, false),
                    },
                    'O' => format_gmt(out, offset, n == 4),
                    'z' if n < 4 => out.push_str(&zone.short),
                    'z' | 'V' => out.push_str(zone.id),
                    _ => {}
                }
            }
        }
    }
}

/// Fields read from the text, resolved into an instant by [`Parsed::resolve`].
#[derive(Debug, Clone, Default)]
struct Parsed {
    era_ad: Option<bool>,
    year_of_era: Option<i64>,
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    weekday: Option<usize>,
    pm: Option<bool>,
    hour_of_day: Option<i64>,
    clock_hour_of_day: Option<i64>,
    hour_of_ampm: Option<i64>,
    clock_hour_of_ampm: Option<i64>,
    minute: Option<i64>,
    second: Option<i64>,
    nano: Option<i64>,
    offset: Option<FixedOffset>,
    zone: Option<Zone>,
}

fn in_range(name: &str, v: i64, lo: i64, hi: i64) -> FormatResult<i64> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("invalid value for {name}: {v} (valid {lo} - {hi})"))
    }
}

impl Parsed {
    fn resolve(&self, default_zone: &Zone) -> FormatResult<i64> {
        let year = match (self.year, self.year_of_era) {
            (Some(y), _) => y,
            (None, Some(yoe)) if self.era_ad == Some(false) => 1 - yoe,
            (None, Some(yoe)) => yoe,
            (None, None) => 1970,
        };
        let year = i32::try_from(year).map_err(|_| format!("year {year} is out of range"))?;
        let date = match (self.month, self.day, self.day_of_year) {
            (None, None, Some(doy)) => NaiveDate::from_yo_opt(year, in_range("DayOfYear", doy, 1, 366)? as u32)
                .ok_or_else(|| format!("invalid day-of-year {doy} in year {year}"))?,
            (month, day, _) => {
                let month = in_range("MonthOfYear", month.unwrap_or(1), 1, 12)? as u32;
                let day = in_range("DayOfMonth", day.unwrap_or(1), 1, 31)? as u32;
                let first =
                    NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| format!("year {year} is out of range"))?;
                let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
                let days_in_month = next.signed_duration_since(first).num_days().max(28) as u32;
                // Java's SMART resolver moves 31 April to 30 April, 30 February to the end of February.
                NaiveDate::from_ymd_opt(year, month, day.min(days_in_month))
                    .ok_or_else(|| format!("invalid date {year}-{month}-{day}"))?
            }
        };
        if let (Some(doy), true) = (self.day_of_year, self.month.is_some() || self.day.is_some())
            && date.ordinal() as i64 != doy
        {
            return Err(format!("day-of-year {doy} conflicts with {date}"));
        }
        if let Some(wd) = self.weekday
            && date.weekday().num_days_from_monday() as usize != wd
        {
            return Err(format!("{} conflicts with {date}, a {}", DAYS[wd], date.weekday_name()));
        }
        let pm = self.pm.unwrap_or(false) as i64 * 12;
        let hour = if let Some(h) = self.hour_of_day {
            in_range("HourOfDay", h, 0, 23)?
        } else if let Some(h) = self.clock_hour_of_day {
            in_range("ClockHourOfDay", h, 1, 24)? % 24
        } else if let Some(h) = self.clock_hour_of_ampm {
            in_range("ClockHourOfAmPm", h, 1, 12)? % 12 + pm
        } else if let Some(h) = self.hour_of_ampm {
            in_range("HourOfAmPm", h, 0, 11)? + pm
        } else {
            pm
        };
        let minute = in_range("MinuteOfHour", self.minute.unwrap_or(0), 0, 59)?;
        let second = in_range("SecondOfMinute", self.second.unwrap_or(0), 0, 59)?;
        let nano = in_range("NanoOfSecond", self.nano.unwrap_or(0), 0, 999_999_999)?;
        let time = NaiveTime::from_hms_nano_opt(hour as u32, minute as u32, second as u32, nano as u32)
            .ok_or_else(|| "invalid time".to_string())?;
        let local = NaiveDateTime::new(date, time);
        let utc = match (&self.offset, &self.zone) {
            (Some(o), _) => local
                .checked_sub_signed(TimeDelta::seconds(o.local_minus_utc() as i64))
                .ok_or_else(|| format!("{local} is out of range"))?,
            (None, Some(z)) => z.local_to_utc(&local)?,
            (None, None) => default_zone.local_to_utc(&local)?,
        };
        Ok(utc.and_utc().timestamp_millis())
    }
}

trait WeekdayName {
    fn weekday_name(&self) -> &'static str;
}

impl WeekdayName for NaiveDate {
    fn weekday_name(&self) -> &'static str {
        DAYS[self.weekday().num_days_from_monday() as usize]
    }
}

/// Width limits of a numeric field: `(min, max, fixed)`.
fn numeric_width(c: char, n: usize) -> Option<(usize, usize)> {
    match c {
        'y' | 'u' if n == 2 => Some((2, 2)),
        'y' | 'u' | 'n' => Some((n, 19)),
        'M' | 'L' if n >= 3 => None,
        'M' | 'L' | 'd' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' => Some(if n == 1 { (1, 19) } else { (n, n) }),
        'D' => Some(match n {
            1 => (1, 19),
            2 => (2, 3),
            _ => (3, 3),
        }),
        'S' => Some((n, n)),
        _ => None,
    }
}

/// Total width of the fixed-width numeric fields directly after `items[idx]`, which a variable-width field
/// must leave for them (Java's adjacent value parsing, so `yyyyMMdd` works).
fn reserved_after(items: &[Item], idx: usize) -> usize {
    items[idx + 1..]
        .iter()
        .map_while(|item| match item {
            Item::Field(c, n) => match numeric_width(*c, *n) {
                Some((min, max)) if min == max => Some(min),
                _ => None,
            },
            _ => None,
        })
        .sum()
}

/// Matches one of `names`, or a three-letter abbreviation of a longer one, case-insensitively; returns its
/// index.
fn scan_name(text: &[char], pos: &mut usize, names: &[&str], what: &str) -> FormatResult<usize> {
    let rest: String = text[*pos..].iter().take(12).collect::<String>().to_lowercase();
    let full = names.iter().map(|n| n.to_lowercase());
    let short = names
        .iter()
        .map(|n| n.chars().take(3).collect::<String>().to_lowercase());
    for candidates in [full.collect::<Vec<_>>(), short.collect()] {
        if let Some((i, name)) = candidates
            .iter()
            .enumerate()
            .find(|(_, name)| rest.starts_with(name.as_str()))
        {
            *pos += name.chars().count();
            return Ok(i);
        }
    }
    Err(format!("expected {what} at index {}", *pos))
}

fn scan_zone(text: &[char], pos: &mut usize) -> FormatResult<Zone> {
    let start = *pos;
    while *pos < text.len() && (text[*pos].is_ascii_alphanumeric() || "/_+-:".contains(text[*pos])) {
        *pos += 1;
    }
    let id: String = text[start..*pos].iter().collect();
    Zone::parse(&id).map_err(|e| format!("{e} (at index {start})"))
}

fn scan_offset_field(text: &[char], pos: &mut usize) -> FormatResult<FixedOffset> {
    if text.get(*pos) == Some(&'Z') {
        *pos += 1;
        return Ok(Utc0::OFFSET);
    }
    let rest: String = text[*pos..].iter().take(3).collect::<String>().to_ascii_uppercase();
    for prefix in ["GMT", "UTC", "UT"] {
        if rest.starts_with(prefix) {
            *pos += prefix.len();
            return if matches!(text.get(*pos), Some('+' | '-')) {
                scan_signed_offset(text, pos)
            } else {
                Ok(Utc0::OFFSET)
            };
        }
    }
    scan_signed_offset(text, pos)
}

fn parse_items(items: &[Item], text: &[char], pos: &mut usize, p: &mut Parsed) -> FormatResult<()> {
    for (idx, item) in items.iter().enumerate() {
        match item {
            Item::Literal(s) => {
                let lit: Vec<char> = s.chars().collect();
                if text.get(*pos..*pos + lit.len()) != Some(&lit[..]) {
                    return Err(format!("expected '{s}' at index {}", *pos));
                }
                *pos += lit.len();
            }
            Item::Optional(inner) => {
                let (saved_pos, saved) = (*pos, p.clone());
                if parse_items(inner, text, pos, p).is_err() {
                    *pos = saved_pos;
                    *p = saved;
                }
            }
            Item::Field(c, n) => parse_field(*c, *n, items, idx, text, pos, p)?,
        }
    }
    Ok(())
}

fn parse_field(
    c: char,
    n: usize,
    items: &[Item],
    idx: usize,
    text: &[char],
    pos: &mut usize,
    p: &mut Parsed,
) -> FormatResult<()> {
    if let Some((min, max)) = numeric_width(c, n) {
        let start = *pos;
        // Proleptic years may be negative; wide year fields may carry an explicit sign (Java's EXCEEDS_PAD).
        let mut sign = 1;
        let mut plus = false;
        match text.get(*pos) {
            Some('-') if c == 'u' && n != 2 => {
                sign = -1;
                *pos += 1;
            }
            Some('+') if matches!(c, 'y' | 'u') && n >= 4 => {
                plus = true;
                *pos += 1;
            }
            _ => {}
        }
        let available = text[*pos..].iter().take_while(|ch| ch.is_ascii_digit()).count();
        let take = if min == max {
            min
        } else {
            available.saturating_sub(reserved_after(items, idx)).clamp(min, max)
        };
        if available < take || take == 0 {
            return Err(format!("expected {take} digit(s) at index {}", *pos));
        }
        // Java's strict EXCEEDS_PAD years (`yyyy`): more digits than the pattern's need a `+`, and a `+` needs them.
        if matches!(c, 'y' | 'u') && n >= 4 && sign == 1 {
            if plus && take <= n {
                return Err(format!("a '+' sign needs more than {n} year digits at index {start}"));
            }
            if !plus && take > n {
                return Err(format!("more than {n} year digits need a '+' sign at index {start}"));
            }
        }
        let digits: String = text[*pos..*pos + take].iter().collect();
        *pos += take;
        let value = digits
            .parse::<i64>()
            .map_err(|_| format!("number too large at index {start}"))?
            * sign;
        match c {
            'y' if n == 2 => p.year_of_era = Some(2000 + value),
            'u' if n == 2 => p.year = Some(2000 + value),
            'y' => p.year_of_era = Some(value),
            'u' => p.year = Some(value),
            'M' | 'L' => p.month = Some(value),
            'd' => p.day = Some(value),
            'D' => p.day_of_year = Some(value),
            'H' => p.hour_of_day = Some(value),
            'k' => p.clock_hour_of_day = Some(value),
            'K' => p.hour_of_ampm = Some(value),
            'h' => p.clock_hour_of_ampm = Some(value),
            'm' => p.minute = Some(value),
            's' => p.second = Some(value),
            'S' => p.nano = Some(value * 10i64.pow(9 - take as u32)),
            'n' => p.nano = Some(value),
            _ => {}
        }
        return Ok(());
    }
    match c {
        'M' | 'L' => p.month = Some(scan_name(text, pos, &MONTHS, "a month name")? as i64 + 1),
        'E' => p.weekday = Some(scan_name(text, pos, &DAYS, "a day name")?),
        'a' => {
            p.pm = Some(scan_name(text, pos, &["AM", "PM"], "AM or PM")? == 1);
        }
        'G' => {
            let rest: String = text[*pos..].iter().take(13).collect::<String>().to_lowercase();
            let eras = [
                ("anno domini", true),
                ("before christ", false),
                ("ad", true),
                ("bc", false),
            ];
            let (name, ad) = eras
                .iter()
                .find(|(name, _)| rest.starts_with(name))
                .ok_or_else(|| format!("expected an era at index {}", *pos))?;
            *pos += name.len();
            p.era_ad = Some(*ad);
        }
        'X' | 'x' | 'Z' | 'O' => p.offset = Some(scan_offset_field(text, pos)?),
        'z' | 'V' => p.zone = Some(scan_zone(text, pos)?),
        other => return Err(format!("unsupported pattern letter '{other}'")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(pattern: &str, millis: i64, zone: &str) -> String {
        JavaDateFormat::compile(pattern)
            .unwrap()
            .format_millis(millis, &Zone::parse(zone).unwrap())
            .unwrap()
    }

    fn parse(pattern: &str, text: &str, zone: &str) -> FormatResult<i64> {
        JavaDateFormat::compile(pattern)?.parse_millis(text, &Zone::parse(zone)?)
    }

    // 2024-02-29T13:05:09.007Z, a Thursday.
    const T: i64 = 1_709_211_909_007;

    #[test]
    fn formats_common_patterns() {
        assert_eq!(fmt("yyyy-MM-dd HH:mm:ss.SSS", T, "UTC"), "2024-02-29 13:05:09.007");
        assert_eq!(fmt("yyyy-MM-dd'T'HH:mm:ssX", T, "UTC"), "2024-02-29T13:05:09Z");
        assert_eq!(
            fmt("yyyy-MM-dd'T'HH:mm:ssXXX", T, "+05:30"),
            "2024-02-29T18:35:09+05:30"
        );
        assert_eq!(
            fmt("X|XX|XXX|x|Z|ZZZZ|O", T, "-03:30"),
            "-0330|-0330|-03:30|-0330|-0330|GMT-03:30|GMT-3:30"
        );
        assert_eq!(fmt("X Z ZZZZ", T, "UTC"), "Z +0000 GMT");
        assert_eq!(fmt("EEE, d MMM yy h:mm a", T, "UTC"), "Thu, 29 Feb 24 1:05 PM");
        assert_eq!(fmt("EEEE MMMM D G", T, "UTC"), "Thursday February 60 AD");
        assert_eq!(fmt("''yyyy'' 'o''clock' [HH]", T, "UTC"), "'2024' o'clock 13");
        assert_eq!(fmt("S SS SSSSSS n", T, "UTC"), "0 00 007000 7000000");
        assert_eq!(fmt("k K h H", 0, "UTC"), "24 0 12 0");
        assert_eq!(
            fmt("yyyy-MM-dd HH:mm VV", T, "Europe/Paris"),
            "2024-02-29 14:05 Europe/Paris"
        );
        assert_eq!(
            fmt("yyyy-MM-dd HH:mm", 1_719_835_200_000, "Europe/Paris"),
            "2024-07-01 14:00"
        );
        assert_eq!(fmt("yyyy-MM-dd HH:mm", T, "GMT+2"), "2024-02-29 15:05");
    }

    #[test]
    fn zone_names_print_like_java() {
        // `z` is the short name in force at the instant, not the IANA id.
        const SUMMER: i64 = 1_526_075_913_000; // 2018-05-11T21:58:33Z
        assert_eq!(fmt("HH:mm z", SUMMER, "America/Los_Angeles"), "14:58 PDT");
        assert_eq!(fmt("HH:mm zzz", T, "America/Los_Angeles"), "05:05 PST");
        assert_eq!(fmt("z zz", T, "Europe/Paris"), "CET CET");
        assert_eq!(fmt("z", SUMMER, "Europe/Paris"), "CEST");
        assert_eq!(fmt("z", T, "Etc/UTC"), "UTC");
        assert_eq!(fmt("z", T, "Asia/Kolkata"), "IST");
        // Fixed zones print Java's ids.
        assert_eq!(fmt("z", T, "UTC"), "UTC");
        assert_eq!(fmt("z", T, "utc"), "UTC");
        assert_eq!(fmt("z", T, "Z"), "Z");
        assert_eq!(fmt("z", T, "GMT"), "GMT");
        assert_eq!(fmt("z", T, "+2"), "+02:00");
        assert_eq!(fmt("z", T, "-0530"), "-05:30");
        assert_eq!(fmt("z", T, "+00:00"), "Z");
        assert_eq!(fmt("z|VV", T, "GMT+2"), "GMT+02:00|GMT+02:00");
        assert_eq!(fmt("z", T, "UTC+0"), "UTC");
        // The long form and `VV` print the (normalised) id.
        assert_eq!(
            fmt("zzzz|VV", T, "America/Los_Angeles"),
            "America/Los_Angeles|America/Los_Angeles"
        );
        assert_eq!(fmt("VV", T, "+01:02:03"), "+01:02:03");
        assert_eq!(Zone::parse("+2").unwrap().id(), "+02:00");
        assert_eq!(fmt("yyyy", 253_402_300_800_000, "UTC"), "+10000");
        assert_eq!(fmt("yyyy G", -62_135_596_800_001, "UTC"), "0001 BC");
        assert_eq!(fmt("yyyy-MM-dd", -1, "UTC"), "1969-12-31");
    }

    #[test]
    fn parses_common_patterns() {
        // `yyyy` years beyond four digits need a `+`, and a `+` needs them (Java's strict EXCEEDS_PAD).
        assert_eq!(parse("yyyy-MM-dd", "+10000-01-01", "UTC"), Ok(253_402_300_800_000));
        assert!(parse("yyyy-MM-dd", "10000-01-01", "UTC").is_err());
        assert!(parse("yyyy-MM-dd", "+2024-01-01", "UTC").is_err());
        assert_eq!(parse("yyyyMMdd", "20240229", "UTC"), Ok(T - 47_109_007));
        assert_eq!(
            parse("yyyy-MM-dd HH:mm:ss.SSS", "2024-02-29 13:05:09.007", "UTC"),
            Ok(T)
        );
        assert_eq!(
            parse("yyyy-MM-dd'T'HH:mm:ss.SSSX", "2024-02-29T13:05:09.007Z", "+09:00"),
            Ok(T)
        );
        assert_eq!(
            parse("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-02-29T18:35:09.007+05:30", "UTC"),
            Ok(T)
        );
        assert_eq!(
            parse("yyyy-MM-dd HH:mm:ss.SSS", "2024-02-29 14:05:09.007", "Europe/Paris"),
            Ok(T)
        );
        assert_eq!(
            parse("yyyy-MM-dd HH:mm:ss.SSS", "2024-02-29 15:05:09.007", "GMT+2"),
            Ok(T)
        );
        assert_eq!(parse("yyyyMMddHHmmssSSS", "20240229130509007", "UTC"), Ok(T));
        assert_eq!(
            parse("d MMM yyyy h:mm:ss.SSS a", "29 feb 2024 1:05:09.007 PM", "UTC"),
            Ok(T)
        );
        assert_eq!(
            parse(
                "EEE, dd MMMM yy HH:mm:ss.SSS",
                "Thu, 29 February 24 13:05:09.007",
                "UTC"
            ),
            Ok(T)
        );
        assert_eq!(
            parse(
                "yyyy-MM-dd HH:mm:ss.SSS z",
                "2024-02-29 14:05:09.007 Europe/Paris",
                "UTC"
            ),
            Ok(T)
        );
        assert_eq!(parse("yyyy-MM-dd[ HH:mm]", "1970-01-02", "UTC"), Ok(86_400_000));
        assert_eq!(parse("yyyy-MM-dd[ HH:mm]", "1970-01-02 01:00", "UTC"), Ok(90_000_000));
        assert_eq!(parse("HH:mm", "01:00", "UTC"), Ok(3_600_000));
        assert_eq!(parse("yyyy", "1970", "+01:00"), Ok(-3_600_000));
        assert_eq!(
            parse("yyyy-MM-dd", "2023-02-30", "UTC"),
            parse("yyyy-MM-dd", "2023-02-28", "UTC")
        );
        assert_eq!(parse("S", "5", "UTC"), Ok(500));
        assert_eq!(
            parse("yyyy-DDD", "2024-060", "UTC"),
            parse("yyyy-MM-dd", "2024-02-29", "UTC")
        );
    }

    #[test]
    fn parse_errors_name_the_problem() {
        assert!(
            parse("yyyy-MM-dd", "2024-13-01", "UTC")
                .unwrap_err()
                .contains("MonthOfYear")
        );
        assert!(parse("yyyy-MM-dd", "2024-1-01", "UTC").unwrap_err().contains("index 5"));
        assert!(
            parse("yyyy-MM-dd", "2024-01-01 extra", "UTC")
                .unwrap_err()
                .contains("unparsed text")
        );
        assert!(parse("yyyy-MM-dd", "", "UTC").is_err());
        assert!(parse("HH:mm", "24:00", "UTC").unwrap_err().contains("HourOfDay"));
        assert!(
            parse("EEE yyyy-MM-dd", "Mon 2024-02-29", "UTC")
                .unwrap_err()
                .contains("conflicts")
        );
        assert!(parse("yyyy", "99999999999999999999", "UTC").is_err());
        assert!(parse("yyyy", "300000", "UTC").is_err());
    }

    #[test]
    fn pattern_errors() {
        assert!(JavaDateFormat::compile("yyyy-ww").unwrap_err().contains("'w'"));
        assert!(JavaDateFormat::compile("'open").unwrap_err().contains("unterminated"));
        assert!(JavaDateFormat::compile("HHH").unwrap_err().contains("too many"));
        assert!(JavaDateFormat::compile("yyyy]").is_err());
        assert!(JavaDateFormat::compile("{").is_err());
        assert!(JavaDateFormat::compile("[yyyy").is_ok());
    }

    #[test]
    fn zones() {
        assert_eq!(Zone::parse("UTC").unwrap().id(), "UTC");
        for ok in [
            "Z",
            "utc",
            "GMT",
            "+02:00",
            "-0530",
            "+2",
            "GMT+2",
            "UTC-03:30",
            "+01:02:03",
            "America/New_York",
        ] {
            assert!(Zone::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["PST", "Mars/Olympus", "+25:00", "GMT+", "", "+1:2"] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
        assert!(Zone::parse("PST").unwrap_err().contains("unknown time zone 'PST'"));
        // Spring-forward gap and fall-back overlap in Paris, resolved like Java.
        let gap = parse("yyyy-MM-dd HH:mm", "2024-03-31 02:30", "Europe/Paris").unwrap();
        assert_eq!(
            fmt("yyyy-MM-dd HH:mmXXX", gap, "Europe/Paris"),
            "2024-03-31 03:30+02:00"
        );
        let overlap = parse("yyyy-MM-dd HH:mm", "2024-10-27 02:30", "Europe/Paris").unwrap();
        assert_eq!(
            fmt("yyyy-MM-dd HH:mmXXX", overlap, "Europe/Paris"),
            "2024-10-27 02:30+02:00"
        );
    }

    #[test]
    fn extreme_millis_do_not_panic() {
        let f = JavaDateFormat::compile("yyyy-MM-dd").unwrap();
        assert!(f.format_millis(i64::MAX, &Zone::utc()).is_err());
        assert!(f.format_millis(i64::MIN, &Zone::utc()).is_err());
    }
}
