//! How many guesses a password costs an attacker who tries patterns first:
//! a bounded replacement for zxcvbn's estimate.
//!
//! zxcvbn enumerates every l33t reading of every substring and matches
//! regexes with backtracking: a crafted 100-character password cost it half
//! a second (docs/benchmarks.md). Here every matcher is a table filled
//! right to left in one pass (sequences, keyboard walks, repeats), a fixed
//! window (dates) or a few list look-ups per letter run or repeated block
//! (words, l33t undone), and one left-to-right pass takes the cheapest
//! cover of the password by those patterns and single characters. Work is
//! linear in the length with a constant of a few dozen steps a character;
//! the list look-ups (a SHA-1 of at most 32 characters each) are fewer
//! than one per character (tests.rs counts them on adversarial inputs).
//!
//! What it still catches, priced roughly as zxcvbn prices them:
//! keyboard walks (qwerty rows and columns, shifted or not, and the
//! keypad), sequences (`abcdef`, `13579`, `zyx`), repeats (`aaaa`,
//! `abcabc`, `Summer!Summer!`), dates (`19840512`, `12/05/84`, years) and
//! words of the blocklist, also written in l33t (`p@55w0rd`), with
//! anything cheap around them (`Password2024!`).

/// The password is guessable below this many bits (2^30, about 10^9
/// guesses: an offline attack on a fast hash, or a large online one).
pub const GUESSABLE_BELOW_BITS: f64 = 30.0;

/// Choosing a pattern, its kind and where it sits, costs about this much.
const SEGMENT_BITS: f64 = 1.0;
/// Longest block a repeat is looked for with.
const MAX_BLOCK: usize = 12;
/// Letter runs looked up in the lists: shorter ones are cheap anyway,
/// longer ones are in no list that matters.
const WORD_LENGTHS: std::ops::RangeInclusive<usize> = 4..=32;

/// log2 of the guesses for `folded` (a folded password, see
/// `blocklist::fold`); `word_bits` prices a listed word, None when unlisted.
pub fn log2_guesses(folded: &str, word_bits: &dyn Fn(&str) -> Option<f64>) -> f64 {
    let s: Vec<char> = folded.chars().collect();
    let n = s.len();
    let mut segments: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    sequences(&s, &mut segments);
    walks(&s, &mut segments);
    dates(&s, &mut segments);
    words(&s, word_bits, &mut segments);
    // Last: a repeated block is priced by the patterns found in it.
    repeats(&s, word_bits, &mut segments);
    let mut cost = vec![f64::INFINITY; n + 1];
    cost[0] = 0.0;
    for i in 0..n {
        let here = cost[i];
        let mut relax = |end: usize, bits: f64| {
            if here + bits < cost[end] {
                cost[end] = here + bits;
            }
        };
        relax(i + 1, char_bits(s[i]));
        for &(len, bits) in &segments[i] {
            relax(i + len, bits + SEGMENT_BITS);
        }
    }
    cost[n]
}

/// A character guessed on its own: the size of its class.
fn char_bits(c: char) -> f64 {
    match c {
        '0'..='9' => 10f64.log2(),
        'a'..='z' | 'A'..='Z' => 26f64.log2(),
        ' '..='~' => 33f64.log2(),
        c if c.is_alphabetic() => 7.0,
        _ => 8.0,
    }
}

fn block_bits(s: &[char]) -> f64 {
    s.iter().map(|&c| char_bits(c)).sum()
}

/// Runs of one step (`abc`, `9753`, `zyx`) within digits or letters.
fn sequences(s: &[char], out: &mut [Vec<(usize, f64)>]) {
    let class = |c: char| {
        if c.is_ascii_digit() {
            1
        } else if c.is_ascii_lowercase() {
            2
        } else {
            0
        }
    };
    for step in [-2i32, -1, 1, 2] {
        let mut run = vec![1usize; s.len()];
        for i in (0..s.len().saturating_sub(1)).rev() {
            let (a, b) = (s[i], s[i + 1]);
            if class(a) != 0 && class(a) == class(b) && b as i32 - a as i32 == step {
                run[i] = run[i + 1] + 1;
            }
        }
        for (i, &len) in run.iter().enumerate() {
            if len >= 3 {
                let start = if s[i].is_ascii_digit() { 10f64 } else { 26f64 };
                let bits = start.log2()
                    + (len as f64).log2()
                    + f64::from(u8::from(step < 0))
                    + f64::from(u8::from(step.abs() == 2));
                out[i].push((len, bits));
            }
        }
    }
}

/// Where a key sits: (layout, row, column in quarter keys; each row of a
/// US keyboard starts a little further right).
fn key_position(c: char) -> Option<(u8, i32, i32)> {
    const ROWS: [(&str, &str, i32); 4] = [
        ("`1234567890-=", "~!@#$%^&*()_+", 0),
        ("qwertyuiop[]\\", "QWERTYUIOP{}|", 6),
        ("asdfghjkl;'", "ASDFGHJKL:\"", 7),
        ("zxcvbnm,./", "ZXCVBNM<>?", 9),
    ];
    ROWS.iter()
        .enumerate()
        .find_map(|(row, (plain, shifted, offset))| {
            plain
                .chars()
                .position(|k| k == c)
                .or_else(|| shifted.chars().position(|k| k == c))
                .map(|col| (0, row as i32, col as i32 * 4 + offset))
        })
}

fn keypad_position(c: char) -> Option<(u8, i32, i32)> {
    // The wide 0 sits under 1 and 2; it is placed under 2, touching 1 to 3.
    let (row, col) = match c {
        '7' => (0, 0),
        '8' => (0, 1),
        '9' => (0, 2),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        '1' => (2, 0),
        '2' => (2, 1),
        '3' => (2, 2),
        '0' => (3, 1),
        '.' => (3, 2),
        _ => return None,
    };
    Some((1, row, col * 4))
}

/// The direction from key `a` to key `b` when they touch.
fn step(a: (u8, i32, i32), b: (u8, i32, i32)) -> Option<(i32, i32)> {
    let (dy, dx) = (b.1 - a.1, b.2 - a.2);
    let touching = if a.0 == 0 {
        (dy == 0 && dx.abs() == 4) || (dy.abs() == 1 && dx.abs() <= 3)
    } else {
        dy.abs() <= 1 && dx.abs() <= 4 && (dy, dx) != (0, 0)
    };
    touching.then_some((dy.signum(), dx.signum()))
}

/// Keyboard walks of three keys or more, on the main block or the keypad;
/// each change of direction costs a choice of about six.
fn walks(s: &[char], out: &mut [Vec<(usize, f64)>]) {
    for layout in [key_position, keypad_position] {
        let keys: Vec<_> = s.iter().map(|&c| layout(c)).collect();
        let dir: Vec<Option<(i32, i32)>> = (0..s.len())
            .map(|i| match (keys[i], keys.get(i + 1).copied().flatten()) {
                (Some(a), Some(b)) => step(a, b),
                _ => None,
            })
            .collect();
        let (mut len, mut turns) = (vec![1usize; s.len()], vec![0usize; s.len()]);
        for i in (0..s.len().saturating_sub(1)).rev() {
            if let Some(d) = dir[i] {
                len[i] = len[i + 1] + 1;
                turns[i] = turns[i + 1] + usize::from(len[i + 1] > 1 && dir[i + 1] != Some(d));
            }
        }
        for i in 0..s.len() {
            if len[i] >= 3 {
                let bits = 94f64.log2() + (len[i] as f64).log2() + turns[i] as f64 * 6f64.log2();
                out[i].push((len[i], bits));
            }
        }
    }
}

/// A block said again: `aaaa`, `abab`, `monkeymonkey`. The block is priced
/// by the patterns found at its start, or as a listed word (looked up once
/// per repeat, where it begins).
fn repeats(s: &[char], word_bits: &dyn Fn(&str) -> Option<f64>, out: &mut [Vec<(usize, f64)>]) {
    for k in 1..=MAX_BLOCK.min(s.len() / 2) {
        // same[i]: how many positions from i on equal the one k later.
        let mut same = vec![0usize; s.len() + 1];
        for i in (0..s.len() - k).rev() {
            if s[i] == s[i + k] {
                same[i] = same[i + 1] + 1;
            }
        }
        for i in 0..s.len() - k {
            let reps = (k + same[i]) / k;
            if reps >= 2 && k * reps >= 3 {
                let block = &s[i..i + k];
                let starts_here = i == 0 || same[i - 1] == 0;
                let listed = (starts_here && WORD_LENGTHS.contains(&k))
                    .then(|| listed_block(block, word_bits))
                    .flatten();
                let base = out[i]
                    .iter()
                    .filter(|(len, _)| *len == k)
                    .map(|(_, b)| *b)
                    .chain(listed)
                    .fold(block_bits(block), f64::min);
                out[i].push((k * reps, base + (reps as f64).log2()));
            }
        }
    }
}

/// A repeated block as a listed word, whole or without the digits and
/// symbols at its ends (`dragon` in `Dr@g0n!`), those priced as characters.
fn listed_block(block: &[char], word_bits: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
    let first = block.iter().position(|c| c.is_alphabetic())?;
    let last = block.iter().rposition(|c| c.is_alphabetic())? + 1;
    let core = ((first, last) != (0, block.len()) && WORD_LENGTHS.contains(&(last - first)))
        .then(|| word_price(&block[first..last], word_bits))
        .flatten()
        .map(|bits| bits + block_bits(&block[..first]) + block_bits(&block[last..]));
    [word_price(block, word_bits), core]
        .into_iter()
        .flatten()
        .reduce(f64::min)
}

/// Dates of digits, with or without separators, and years: a day of 130
/// years costs about 15.5 bits, a year alone 7.
fn dates(s: &[char], out: &mut [Vec<(usize, f64)>]) {
    let day_bits = (365f64 * 130.0).log2();
    for i in 0..s.len() {
        let window: String = s[i..s.len().min(i + 10)].iter().collect();
        let digits: String = window.chars().take_while(char::is_ascii_digit).collect();
        let year = |y: &str| y.parse::<u32>().is_ok_and(|y| (1900..=2029).contains(&y));
        let md = |m: &str, d: &str| {
            let (m, d) = (m.parse::<u32>().unwrap_or(0), d.parse::<u32>().unwrap_or(0));
            (1..=12).contains(&m) && (1..=31).contains(&d)
        };
        let dm = |a: &str, b: &str| md(a, b) || md(b, a);
        if digits.len() >= 8
            && (year(&digits[..4]) && md(&digits[4..6], &digits[6..8])
                || year(&digits[4..8]) && dm(&digits[..2], &digits[2..4]))
        {
            out[i].push((8, day_bits));
        }
        if digits.len() >= 6
            && (dm(&digits[..2], &digits[2..4]) || md(&digits[2..4], &digits[4..6]))
        {
            out[i].push((6, day_bits));
        }
        if digits.len() >= 4 && year(&digits[..4]) {
            out[i].push((4, (130f64).log2()));
        }
        // With separators: d/m/y, m-d-y, y.m.d, 1 or 2 digits a field.
        let parts: Vec<&str> = window.splitn(4, ['/', '-', '.', ' ', '_']).collect();
        if parts.len() >= 3 {
            let (a, b) = (parts[0], parts[1]);
            let c: String = parts[2]
                .chars()
                .take_while(char::is_ascii_digit)
                .take(4)
                .collect();
            let numeric = [a, b, c.as_str()]
                .iter()
                .all(|p| (1..=4).contains(&p.len()) && p.bytes().all(|x| x.is_ascii_digit()));
            let valid = numeric
                && ((year(a) && md(b, &c) && c.len() <= 2)
                    || (a.len() <= 2 && b.len() <= 2 && dm(a, b) && (c.len() == 2 || year(&c))));
            if valid {
                let len = a.len() + b.len() + c.len() + 2;
                out[i].push((len, day_bits + 1.0));
            }
        }
    }
}

/// The usual reading of each l33t character, and the other reading of the
/// ambiguous ones (`1` and `|` are `i` or `l`, `7` is `t` or `l`).
fn unleet(c: char, second: bool) -> char {
    match c {
        '4' | '@' => 'a',
        '8' => 'b',
        '(' | '{' | '[' | '<' => 'c',
        '3' => 'e',
        '6' | '9' => 'g',
        '1' | '|' if second => 'l',
        '1' | '!' | '|' => 'i',
        '7' if second => 'l',
        '0' => 'o',
        '$' | '5' => 's',
        '7' | '+' => 't',
        '%' => 'x',
        '2' => 'z',
        c => c,
    }
}

/// The password read with l33t undone, in the usual or the other reading.
pub fn unleet_str(folded: &str, second: bool) -> String {
    folded.chars().map(|c| unleet(c, second)).collect()
}

/// What a listed word costs, read with l33t undone (the other reading too
/// where it differs): its list's price, and a bit a substitution. None when
/// neither reading is listed. One or two look-ups.
fn word_price(chars: &[char], word_bits: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
    let subs = chars.iter().filter(|c| !c.is_alphabetic()).count();
    let reading = |second| chars.iter().map(|&c| unleet(c, second)).collect::<String>();
    let usual = reading(false);
    let other = chars
        .iter()
        .any(|&c| unleet(c, true) != unleet(c, false))
        .then(|| reading(true));
    [Some(usual), other]
        .into_iter()
        .flatten()
        .filter_map(|word| word_bits(&word))
        .reduce(f64::min)
        .map(|bits| bits + subs as f64)
}

/// Listed words in runs of letters (l33t read as letters), each run also
/// without the digits and symbols at its ends (`password` in `p@ssword123`).
fn words(s: &[char], word_bits: &dyn Fn(&str) -> Option<f64>, out: &mut [Vec<(usize, f64)>]) {
    let letterish = |c: char| unleet(c, false).is_alphabetic();
    let mut i = 0;
    while i < s.len() {
        if !letterish(s[i]) {
            i += 1;
            continue;
        }
        let end = (i..s.len()).find(|&j| !letterish(s[j])).unwrap_or(s.len());
        let first = (i..end).find(|&j| s[j].is_alphabetic());
        let last = (i..end).rev().find(|&j| s[j].is_alphabetic());
        let mut spans = vec![(i, end)];
        if let (Some(a), Some(b)) = (first, last)
            && (a, b + 1) != (i, end)
        {
            spans.push((a, b + 1));
        }
        for (a, b) in spans {
            if !WORD_LENGTHS.contains(&(b - a)) {
                continue;
            }
            if let Some(bits) = word_price(&s[a..b], word_bits) {
                out[a].push((b - a, bits));
            }
        }
        i = end;
    }
}
