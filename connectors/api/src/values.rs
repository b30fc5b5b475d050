//! Values from a source's text made exact, shared by the connectors:
//! decimal numbers at a column's precision and scale, and calendar
//! dates as days since 1970.

/// A decimal number's text (`-12.50`, `1e-7`) as the unscaled value of
/// decimal(precision, scale), only if that is exactly its value.
pub fn decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let wrong = || format!("{text:?}, which is not a decimal({precision},{scale}) value");
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| wrong())?),
        None => (text, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() || !(whole.chars().chain(fraction.chars())).all(|c| c.is_ascii_digit()) {
        return Err(wrong());
    }
    // digits × 10^(exponent − fraction digits), at `scale` places.
    let digits = format!("{whole}{fraction}");
    let shift = exponent - fraction.len() as i32 + scale as i32;
    let mut unscaled: i128 = 0;
    for (i, c) in digits.chars().enumerate() {
        let digit = c as i128 - '0' as i128;
        let places_left = digits.len() - i - 1;
        let at = places_left as i32 + shift;
        if at < 0 {
            if digit != 0 {
                return Err(wrong());
            }
            continue;
        }
        let term = 10i128.checked_pow(at as u32).and_then(|p| p.checked_mul(digit)).ok_or_else(wrong)?;
        unscaled = unscaled.checked_add(term).ok_or_else(wrong)?;
    }
    if unscaled >= 10i128.pow(precision as u32) {
        return Err(wrong());
    }
    Ok(if negative { -unscaled } else { unscaled })
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
/// algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
