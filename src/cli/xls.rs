//! The caps on an Excel 97–2003 workbook (.xls), checked before calamine
//! opens it.
//!
//! calamine reads every sheet of an .xls as it opens the file: it follows
//! the compound file's sector chains wherever they lead, reserves the cells
//! a sheet's DIMENSIONS record declares, makes each sheet's rows × columns
//! of cells, and gives every cell that names a shared string a copy of it.
//! So the file is walked here first, holding nothing of its size: every
//! chain calamine follows must end within the file, and every sheet must
//! fit the caps that bound the other workbooks (`sheet::check_span` and
//! the counts below). Where calamine would refuse the file by itself, the
//! walk stops and leaves the refusal to it.

mod biff;
mod compound;

use std::fmt;

use biff::check_biff;
use compound::Compound;

const SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
/// Values a sector chain's next pointer may take besides a sector number
/// [MS-CFB 2.1]: the end of the chain, and the markers calamine skips.
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const RESERVED: u32 = 0xFFFF_FFFA;
const DIFAT_MARK: u32 = 0xFFFF_FFFC;
/// Streams shorter than this live in the mini stream, in 64-byte sectors.
const MINI_CUTOFF: u64 = 4096;
const MINI_SECTOR: usize = 64;

fn damaged(what: impl fmt::Display) -> String {
    format!("not a readable workbook ({what}); is it a complete .xls file?")
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn le64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

fn u32s(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Refuses an .xls whose container or sheets pass the caps; any other file
/// passes untouched.
pub(super) fn check_xls(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(SIGNATURE) {
        return Ok(());
    }
    let file = Compound::open(bytes)?;
    match file.workbook()? {
        Some(stream) => check_biff(&stream),
        None => Ok(()),
    }
}
