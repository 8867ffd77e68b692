//! A minimal writer of Excel 97–2003 workbooks (.xls: BIFF8 records in an
//! OLE compound file), so that the tests make the .xls files they import,
//! well-formed or hostile, instead of keeping binaries of unknown origin.
//!
//! It writes what calamine reads, after [MS-XLS] and [MS-CFB]: a globals
//! substream (BOF, two XF records, the sheets, the shared strings, EOF) and
//! one worksheet substream per sheet. It does not write what Excel also
//! wants to see (fonts, styles, window records).

/// One BIFF record: its type and its data.
pub struct Record(pub u16, pub Vec<u8>);

/// The most data one record holds; longer data goes on in CONTINUE records.
const MAX_DATA: usize = 8224;

/// The XF (cell format) index of a date cell: the second XF record, with
/// the built-in format 14 (m/d/yy).
pub const DATE_XF: u16 = 1;

pub fn bof(substream: u16) -> Record {
    let mut data = Vec::new();
    data.extend_from_slice(&0x0600u16.to_le_bytes()); // BIFF8
    data.extend_from_slice(&substream.to_le_bytes()); // 5 globals, 0x10 sheet
    data.extend_from_slice(&[0; 12]);
    Record(0x0809, data)
}

pub fn eof() -> Record {
    Record(0x000A, Vec::new())
}

/// DIMENSIONS: rows `first..end` and columns `first_column..end_column`, the
/// ends one past the last, as the record has them.
pub fn dimensions(first: u32, end: u32, first_column: u16, end_column: u16) -> Record {
    let mut data = Vec::new();
    data.extend_from_slice(&first.to_le_bytes());
    data.extend_from_slice(&end.to_le_bytes());
    data.extend_from_slice(&first_column.to_le_bytes());
    data.extend_from_slice(&end_column.to_le_bytes());
    data.extend_from_slice(&[0; 2]);
    Record(0x0200, data)
}

fn cell_head(row: u16, column: u16, xf: u16) -> Vec<u8> {
    [row.to_le_bytes(), column.to_le_bytes(), xf.to_le_bytes()].concat()
}

/// A Number cell.
pub fn number(row: u16, column: u16, xf: u16, value: f64) -> Record {
    let mut data = cell_head(row, column, xf);
    data.extend_from_slice(&value.to_le_bytes());
    Record(0x0203, data)
}

/// A LabelSst cell: the shared string `index`.
pub fn label_sst(row: u16, column: u16, index: u32) -> Record {
    let mut data = cell_head(row, column, 0);
    data.extend_from_slice(&index.to_le_bytes());
    Record(0x00FD, data)
}

/// A MulRk row of cells from `first` on, each the number 1.
pub fn mul_rk(row: u16, first: u16, count: u16) -> Record {
    let mut data = Vec::new();
    data.extend_from_slice(&row.to_le_bytes());
    data.extend_from_slice(&first.to_le_bytes());
    for _ in 0..count {
        // XF 0 and the RK value 1.0: the top 30 bits of the double's high
        // word.
        data.extend_from_slice(&0u16.to_le_bytes());
        data.extend_from_slice(&0x3FF0_0000u32.to_le_bytes());
    }
    data.extend_from_slice(&(first + count - 1).to_le_bytes());
    Record(0x00BD, data)
}

/// The SST record and its CONTINUE records for `strings`, split where
/// Excel splits them: a string's header never, its characters anywhere,
/// the part after a split starting with the string's flags byte again.
fn shared_strings(strings: &[String]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut data = Vec::new();
    data.extend_from_slice(&(strings.len() as u32).to_le_bytes());
    data.extend_from_slice(&(strings.len() as u32).to_le_bytes());
    let mut typ = 0x00FC;
    let mut flush = |data: &mut Vec<u8>, typ: &mut u16| {
        records.push(Record(*typ, std::mem::take(data)));
        *typ = 0x003C;
    };
    for text in strings {
        let wide = text.chars().any(|c| u32::from(c) > 0xFF);
        let units: Vec<u16> = text.encode_utf16().collect();
        if MAX_DATA - data.len() < 3 {
            flush(&mut data, &mut typ);
        }
        data.extend_from_slice(&(units.len() as u16).to_le_bytes());
        data.push(u8::from(wide));
        let size = if wide { 2 } else { 1 };
        let mut left = &units[..];
        while !left.is_empty() {
            let fit = (MAX_DATA - data.len()) / size;
            if fit == 0 {
                flush(&mut data, &mut typ);
                data.push(u8::from(wide));
                continue;
            }
            let (now, rest) = left.split_at(fit.min(left.len()));
            for unit in now {
                if wide {
                    data.extend_from_slice(&unit.to_le_bytes());
                } else {
                    data.push(*unit as u8);
                }
            }
            left = rest;
        }
    }
    flush(&mut data, &mut typ);
    records
}

/// A record's bytes, its data over `MAX_DATA` going on in CONTINUE records.
fn put(out: &mut Vec<u8>, Record(typ, data): &Record) {
    let mut typ = *typ;
    let mut chunks = data.chunks(MAX_DATA);
    let first = chunks.next().unwrap_or(&[]);
    for chunk in std::iter::once(first).chain(chunks) {
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
        out.extend_from_slice(chunk);
        typ = 0x003C;
    }
}

/// The Workbook stream: the globals with `strings` as the shared strings,
/// then each sheet's records between its BOF and EOF.
pub fn workbook_stream(strings: &[String], sheets: &[Vec<Record>]) -> Vec<u8> {
    let xf = |format: u16| {
        let mut data = vec![0; 20];
        data[2..4].copy_from_slice(&format.to_le_bytes());
        Record(0x00E0, data)
    };
    let bound_sheet = |at: u32, index: usize| {
        let name = format!("S{index}");
        let mut data = at.to_le_bytes().to_vec();
        data.extend_from_slice(&[0, 0, name.len() as u8, 0]);
        data.extend_from_slice(name.as_bytes());
        Record(0x0085, data)
    };
    let globals = |offsets: &[u32]| {
        let mut out = Vec::new();
        put(&mut out, &bof(0x0005));
        put(&mut out, &xf(0));
        put(&mut out, &xf(14));
        for (index, at) in offsets.iter().enumerate() {
            put(&mut out, &bound_sheet(*at, index + 1));
        }
        for record in shared_strings(strings) {
            put(&mut out, &record);
        }
        put(&mut out, &eof());
        out
    };
    // The globals name where each sheet starts, which depends on their own
    // length: laid out once with zeros, then again.
    let mut offsets = vec![0u32; sheets.len()];
    let mut at = globals(&offsets).len();
    let mut bodies = Vec::new();
    for (sheet, offset) in sheets.iter().zip(&mut offsets) {
        *offset = at as u32;
        let mut body = Vec::new();
        put(&mut body, &bof(0x0010));
        for record in sheet {
            put(&mut body, record);
        }
        put(&mut body, &eof());
        at += body.len();
        bodies.push(body);
    }
    let mut stream = globals(&offsets);
    for body in bodies {
        stream.extend(body);
    }
    stream
}

const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const FREE: u32 = 0xFFFF_FFFF;
const FAT_SECTOR: u32 = 0xFFFF_FFFD;

/// How the compound file lays the stream out.
pub enum Container {
    /// Version 3, 512-byte sectors: what Excel writes (up to 7 MB here,
    /// the 109 allocation-table sectors the header lists).
    Excel,
    /// Version 3 with a stream under 4096 bytes in the mini stream, in
    /// 64-byte sectors, as small files are kept.
    Mini,
    /// Version 4, 4096-byte sectors, for larger streams.
    Large,
    /// Version 3 with the stream's last sector chained back to its first,
    /// and a declared size of 4 GB.
    Loop,
}

/// Sector numbers chained one after the other from `first`, `count` long,
/// written into `table`; the last leads to `end`.
fn chain(table: &mut [u32], first: u32, count: usize, end: u32) {
    for id in first..first + count as u32 - 1 {
        table[id as usize] = id + 1;
    }
    table[(first + count as u32 - 1) as usize] = end;
}

/// An OLE compound file holding `stream` as "Workbook": in its own sectors,
/// padded with zeros to 4096 bytes (below that a stream lives in the mini
/// stream), or in the mini stream.
pub fn compound(stream: &[u8], container: Container) -> Vec<u8> {
    let (shift, version) = match container {
        Container::Large => (12u16, 4u16),
        Container::Excel | Container::Mini | Container::Loop => (9, 3),
    };
    let size = 1usize << shift;
    let mini = matches!(container, Container::Mini);
    let mut stream = stream.to_vec();
    let declared = match container {
        Container::Loop => u64::from(u32::MAX),
        Container::Mini => {
            assert!(
                stream.len() < 4096,
                "a stream too large for the mini stream"
            );
            stream.len() as u64
        }
        Container::Excel | Container::Large => {
            stream.resize(stream.len().max(4096), 0);
            stream.len() as u64
        }
    };
    // In the mini stream the Workbook is in 64-byte sectors, chained by the
    // mini allocation table; the mini stream itself is the root's, in
    // ordinary sectors.
    let mini_sectors = stream.len().div_ceil(64);
    stream.resize(stream.len().div_ceil(size) * size, 0);
    let stream_sectors = stream.len() / size;
    let mini_table_sectors = usize::from(mini);
    let per_fat = size / 4;
    let payload = 1 + stream_sectors + mini_table_sectors;
    let mut fat_sectors = 1;
    while fat_sectors * per_fat < fat_sectors + payload {
        fat_sectors += 1;
    }
    assert!(
        fat_sectors <= 109,
        "a stream too large for the header's table"
    );
    let dir = fat_sectors as u32;
    let first = dir + 1;
    let mini_table = first + stream_sectors as u32;
    let mut fat = vec![FREE; fat_sectors * per_fat];
    for entry in &mut fat[..fat_sectors] {
        *entry = FAT_SECTOR;
    }
    fat[dir as usize] = END_OF_CHAIN;
    let end = match container {
        Container::Loop => first,
        Container::Excel | Container::Mini | Container::Large => END_OF_CHAIN,
    };
    chain(&mut fat, first, stream_sectors, end);
    if mini {
        fat[mini_table as usize] = END_OF_CHAIN;
    }

    let mut file = Vec::new();
    file.extend_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    file.extend_from_slice(&[0; 16]);
    file.extend_from_slice(&0x003Eu16.to_le_bytes());
    file.extend_from_slice(&version.to_le_bytes());
    file.extend_from_slice(&0xFFFEu16.to_le_bytes());
    file.extend_from_slice(&shift.to_le_bytes());
    file.extend_from_slice(&6u16.to_le_bytes());
    file.extend_from_slice(&[0; 6]);
    let dir_sectors: u32 = if version == 4 { 1 } else { 0 };
    let (mini_table_start, mini_table_count) = if mini {
        (mini_table, 1)
    } else {
        (END_OF_CHAIN, 0)
    };
    for field in [
        dir_sectors,
        fat_sectors as u32,
        dir,
        0,
        4096,
        mini_table_start,
        mini_table_count,
        END_OF_CHAIN,
        0,
    ] {
        file.extend_from_slice(&field.to_le_bytes());
    }
    for index in 0..109 {
        let id = if index < fat_sectors {
            index as u32
        } else {
            FREE
        };
        file.extend_from_slice(&id.to_le_bytes());
    }
    file.resize(size, 0);
    for id in &fat {
        file.extend_from_slice(&id.to_le_bytes());
    }
    let entry = |name: &str, kind: u8, child: u32, start: u32, len: u64| {
        let mut entry = vec![0u8; 128];
        let units: Vec<u16> = name.encode_utf16().collect();
        for (index, unit) in units.iter().enumerate() {
            entry[index * 2..index * 2 + 2].copy_from_slice(&unit.to_le_bytes());
        }
        entry[64..66].copy_from_slice(&((units.len() as u16 + 1) * 2).to_le_bytes());
        entry[66] = kind;
        entry[67] = 1;
        entry[68..72].copy_from_slice(&FREE.to_le_bytes());
        entry[72..76].copy_from_slice(&FREE.to_le_bytes());
        entry[76..80].copy_from_slice(&child.to_le_bytes());
        entry[116..120].copy_from_slice(&start.to_le_bytes());
        entry[120..128].copy_from_slice(&len.to_le_bytes());
        entry
    };
    // The root's start says where the mini stream is; calamine refuses a
    // version 4 root that says there is none.
    let mut directory = if mini {
        let mut directory = entry("Root Entry", 5, 1, first, (mini_sectors * 64) as u64);
        directory.extend(entry("Workbook", 2, FREE, 0, declared));
        directory
    } else {
        let root_start = if version == 4 { 0 } else { END_OF_CHAIN };
        let mut directory = entry("Root Entry", 5, 1, root_start, 0);
        directory.extend(entry("Workbook", 2, FREE, first, declared));
        directory
    };
    directory.resize(size, 0);
    file.extend(directory);
    file.extend(stream);
    if mini {
        let mut table = vec![FREE; size / 4];
        chain(&mut table, 0, mini_sectors, END_OF_CHAIN);
        for id in table {
            file.extend_from_slice(&id.to_le_bytes());
        }
    }
    file
}

/// A CSV file's rows as an .xls the way Excel keeps one, as `workbook` in
/// agency.rs makes an .xlsx: numbers as numbers, dates as date-formatted
/// serials, text as shared strings.
pub fn from_csv(csv_text: &str) -> Vec<u8> {
    from_csv_in(csv_text, Container::Excel)
}

fn from_csv_in(csv_text: &str, container: Container) -> Vec<u8> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    let mut strings: Vec<String> = Vec::new();
    let mut sheet = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv_text.as_bytes());
    for (row, record) in reader.records().enumerate() {
        for (column, cell) in record.unwrap().iter().enumerate() {
            let (row, column) = (row as u16, column as u16);
            if cell.is_empty() {
                continue;
            }
            if let Ok(day) = chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d") {
                let serial = (day - epoch).num_days() as f64;
                sheet.push(number(row, column, DATE_XF, serial));
            } else if let Ok(n) = cell.parse::<f64>() {
                sheet.push(number(row, column, 0, n));
            } else {
                let index = strings.iter().position(|s| s == cell).unwrap_or_else(|| {
                    strings.push(cell.to_owned());
                    strings.len() - 1
                });
                sheet.push(label_sst(row, column, index as u32));
            }
        }
    }
    compound(&workbook_stream(&strings, &[sheet]), container)
}

/// A small workbook is kept in the mini stream: read as the same file in
/// sectors of its own is.
#[test]
fn a_workbook_in_the_mini_stream_reads_as_in_sectors_of_its_own() {
    use licwatch::cli::sheet::{Kind, Parsed, parse};
    let csv = "许可证编号,持证单位,到期日期\n京B2-20221234,北京示例呼叫中心有限公司,2027-02-28\n";
    let rows = |container| match parse(Kind::Workbook, from_csv_in(csv, container)) {
        Ok(Parsed::Rows(rows)) => rows,
        Ok(Parsed::Table(_)) => panic!("a workbook read as a JSON table"),
        Err(e) => panic!("{e}"),
    };
    let mini = rows(Container::Mini);
    assert_eq!(mini.len(), 2, "{mini:?}");
    assert_eq!(mini, rows(Container::Excel));
}

/// The .xls seed of the sheet_xlsx fuzz target is this writer's output for
/// a small sheet, so its origin is known; `UPDATE_SEEDS=1` writes it again.
#[test]
fn the_xls_fuzz_seed_is_this_writers_output() {
    let seed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/sheet_xlsx/example.xls");
    let made = from_csv(
        "许可证编号,持证单位,统一社会信用代码,业务种类,发证日期,到期日期\n京B2-20221234,北京示例呼叫中心有限公司,91110108551385082Q,B24,2022-03-01,2027-02-28\n",
    );
    if std::env::var_os("UPDATE_SEEDS").is_some() {
        std::fs::write(&seed, &made).unwrap();
    }
    assert!(
        std::fs::read(&seed).ok() == Some(made),
        "{} is not the writer's output: UPDATE_SEEDS=1 makes it",
        seed.display()
    );
}
