//! Input normalisation shared by every parser: what people paste from Word,
//! WeChat or an Excel sheet typed on a Chinese IME.

/// Maps full-width ASCII forms (Ａ, １, －, ．) to ASCII, folds the usual dash
/// look-alikes to `-`, and trims ASCII and ideographic spaces at both ends.
pub fn normalize(input: &str) -> String {
    input
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}')
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn full_width_digits_letters_and_hyphen_become_ascii() {
        assert_eq!(normalize("　京Ｂ２－２０２０１２３４ "), "京B2-20201234");
        assert_eq!(normalize("２０２５—０２—２８"), "2025-02-28");
    }

    #[test]
    fn chinese_characters_are_left_alone() {
        assert_eq!(normalize("国内呼叫中心业务"), "国内呼叫中心业务");
    }
}
