//! The compound file an .xls is stored in: its sector chains followed as
//! calamine follows them, each checked to end within the file.

use std::ops::Range;

use super::{
    DIFAT_MARK, END_OF_CHAIN, MINI_CUTOFF, MINI_SECTOR, RESERVED, damaged, le16, le32, le64, u32s,
};

/// A compound file as calamine reads it: the sectors after the header, and
/// the allocation table that chains them.
pub(super) struct Compound<'a> {
    pub(super) bytes: &'a [u8],
    /// 512 or 4096; the header takes the first sector.
    pub(super) size: usize,
    /// Sectors present in the file, the last one possibly short.
    pub(super) count: usize,
    fat: Vec<u32>,
    large: bool,
    dir_start: u32,
    mini_fat_start: u32,
    mini_fat_sectors: u32,
}

impl<'a> Compound<'a> {
    pub(super) fn open(bytes: &'a [u8]) -> Result<Compound<'a>, String> {
        if bytes.len() < 512 {
            return Err(damaged("shorter than its 512-byte header"));
        }
        let (size, large) = match le16(bytes, 30) {
            Some(9) => (512, false),
            Some(12) => (4096, true),
            // calamine refuses this one itself.
            _ => return Err(damaged("the sector size is neither 512 nor 4096 bytes")),
        };
        let count = bytes.len().saturating_sub(size).div_ceil(size);
        let mut file = Compound {
            bytes,
            size,
            count,
            fat: Vec::new(),
            large,
            dir_start: le32(bytes, 48).unwrap_or(END_OF_CHAIN),
            mini_fat_start: le32(bytes, 60).unwrap_or(END_OF_CHAIN),
            mini_fat_sectors: le32(bytes, 64).unwrap_or(0),
        };
        // The DIFAT lists the FAT's sectors: 109 in the header, the rest in
        // a chain whose every sector ends with the next one's number.
        let mut difat: Vec<u32> = u32s(&bytes[76..512]).collect();
        let mut next = le32(bytes, 68).unwrap_or(END_OF_CHAIN);
        let mut hops = 0;
        while next < RESERVED {
            hops += 1;
            if hops > count {
                return Err(damaged("the DIFAT chain is longer than the file"));
            }
            difat.extend(u32s(file.full_sector(next, "the DIFAT")?));
            next = difat.pop().unwrap_or(END_OF_CHAIN);
        }
        let fat_sectors: Vec<u32> = difat.into_iter().filter(|id| *id < DIFAT_MARK).collect();
        // Each FAT sector maps size / 4 sectors: a file needs no more than
        // that many, and a list naming one sector over and over would make
        // calamine's table many times the file.
        let needed = count.div_ceil(size / 4);
        if fat_sectors.len() > 2 * needed + 1 {
            return Err(damaged(format!(
                "its allocation table lists {} sectors, a file of {count} sectors needs {needed}",
                fat_sectors.len()
            )));
        }
        let mut fat = Vec::with_capacity(fat_sectors.len() * size / 4);
        for id in fat_sectors {
            fat.extend(u32s(file.full_sector(id, "the allocation table")?));
        }
        file.fat = fat;
        Ok(file)
    }

    /// The bytes of sector `id`, as far as the file has them.
    pub(super) fn sector(&self, id: u32) -> Range<usize> {
        let start = (id as usize + 1) * self.size;
        start..(start + self.size).min(self.bytes.len())
    }

    /// A whole sector, for the tables calamine reads four bytes at a time
    /// (it stops the process on a short one).
    fn full_sector(&self, id: u32, what: &str) -> Result<&'a [u8], String> {
        let range = self.sector(id);
        if (id as usize) >= self.count || range.len() != self.size {
            return Err(damaged(format!(
                "{what} names sector {id}, past the end of the file"
            )));
        }
        Ok(&self.bytes[range])
    }

    /// The sectors of the chain from `start` as calamine follows it: until
    /// the end of the chain or `len` bytes. Each sector must be in the file
    /// and in `table`, and appear once: a loop would have calamine read
    /// forever, and a sector past the table stops it.
    pub(super) fn chain(
        &self,
        start: u32,
        table: &[u32],
        sectors: usize,
        length: impl Fn(u32) -> usize,
        len: u64,
        what: &str,
    ) -> Result<Vec<u32>, String> {
        let mut seen = vec![false; sectors.min(table.len())];
        let mut ids = Vec::new();
        let mut read = 0u64;
        let mut id = start;
        while id != END_OF_CHAIN {
            let Some(mark) = seen.get_mut(id as usize) else {
                return Err(damaged(format!(
                    "{what} names sector {id}, past the end of the file"
                )));
            };
            if std::mem::replace(mark, true) {
                return Err(damaged(format!("{what} runs in a loop")));
            }
            ids.push(id);
            read += length(id) as u64;
            if read >= len {
                break;
            }
            id = table[id as usize];
        }
        Ok(ids)
    }

    /// A stream in the main sectors, `len` bytes at most.
    pub(super) fn stream(&self, start: u32, len: u64, what: &str) -> Result<Stream<'a>, String> {
        let ids = self.chain(
            start,
            &self.fat,
            self.count,
            |id| self.sector(id).len(),
            len,
            what,
        )?;
        Ok(Stream::new(
            self.bytes,
            ids.into_iter().map(|id| self.sector(id)),
            len,
        ))
    }

    /// The Workbook (or, from Excel 5, Book) stream calamine reads, with
    /// every chain it follows to get there checked; `None` when there is
    /// none, which calamine refuses by itself.
    pub(super) fn workbook(&self) -> Result<Option<Stream<'a>>, String> {
        let dirs = self.stream(self.dir_start, u64::MAX, "the directory")?;
        let entries: Vec<(String, u32, u64)> = dirs
            .pieces
            .iter()
            .flat_map(|piece| self.bytes[piece.clone()].chunks_exact(128))
            .map(|entry| {
                let units: Vec<u16> = entry[..64]
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .take_while(|unit| *unit != 0)
                    .collect();
                let len = if self.large {
                    le64(entry, 120).unwrap_or(0)
                } else {
                    u64::from(le32(entry, 120).unwrap_or(0))
                };
                (
                    String::from_utf16_lossy(&units),
                    le32(entry, 116).unwrap_or(END_OF_CHAIN),
                    len,
                )
            })
            .collect();
        let Some((_, root_start, root_len)) = entries.first().cloned() else {
            return Ok(None);
        };
        // calamine loads the mini stream and its table whenever the header
        // says there is one, whatever the workbook's size.
        let mini = if self.mini_fat_sectors > 0 {
            let stream = self.stream(root_start, root_len, "the mini stream")?;
            let table_len = u64::from(self.mini_fat_sectors) * self.size as u64;
            let table = self.stream(self.mini_fat_start, table_len, "the mini allocation table")?;
            let mut mini_fat = Vec::new();
            for piece in &table.pieces {
                mini_fat.extend(u32s(&self.bytes[piece.clone()]));
            }
            Some((stream, mini_fat))
        } else {
            None
        };
        let named = |name: &str| {
            entries
                .iter()
                .find(|(entry, ..)| entry.eq_ignore_ascii_case(name))
        };
        let Some((_, start, len)) = named("Workbook").or_else(|| named("Book")) else {
            return Ok(None);
        };
        if *len >= MINI_CUTOFF {
            return self.stream(*start, *len, "the Workbook stream").map(Some);
        }
        let empty = (Stream::new(self.bytes, std::iter::empty(), 0), Vec::new());
        let (ministream, mini_fat) = mini.as_ref().unwrap_or(&empty);
        let mini_len = ministream.len;
        let ids = self.chain(
            *start,
            mini_fat,
            mini_len.div_ceil(MINI_SECTOR),
            |id| MINI_SECTOR.min(mini_len - id as usize * MINI_SECTOR),
            *len,
            "the Workbook stream",
        )?;
        let pieces = ids.into_iter().flat_map(|id| {
            let at = id as usize * MINI_SECTOR;
            ministream.ranges(at, MINI_SECTOR.min(mini_len - at))
        });
        Ok(Some(Stream::new(self.bytes, pieces, *len)))
    }
}

/// A stream as the file's byte ranges, in order, that make it up.
pub(super) struct Stream<'a> {
    pub(super) bytes: &'a [u8],
    pieces: Vec<Range<usize>>,
    /// Where each piece starts in the stream.
    pub(super) starts: Vec<usize>,
    pub(super) len: usize,
}

impl<'a> Stream<'a> {
    /// The pieces up to `len` bytes, as calamine copies a chain.
    pub(super) fn new(
        bytes: &'a [u8],
        pieces: impl Iterator<Item = Range<usize>>,
        len: u64,
    ) -> Stream<'a> {
        let mut stream = Stream {
            bytes,
            pieces: Vec::new(),
            starts: Vec::new(),
            len: 0,
        };
        for piece in pieces {
            let left = len.saturating_sub(stream.len as u64);
            let take = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            stream.starts.push(stream.len);
            stream.pieces.push(piece.start..piece.start + take);
            stream.len += take;
            if stream.len as u64 >= len {
                break;
            }
        }
        stream
    }

    /// The file's ranges holding `n` bytes of the stream from `at` (fewer
    /// at its end).
    pub(super) fn ranges(&self, at: usize, n: usize) -> Vec<Range<usize>> {
        let end = at.saturating_add(n).min(self.len);
        let mut out = Vec::new();
        if at >= end {
            return out;
        }
        let first = self.starts.partition_point(|start| *start <= at) - 1;
        for (piece, start) in self.pieces[first..].iter().zip(&self.starts[first..]) {
            if *start >= end {
                break;
            }
            let from = piece.start + at.saturating_sub(*start);
            let to = piece.start + (end - start).min(piece.len());
            out.push(from..to);
        }
        out
    }

    /// `n` bytes from `at`, or `None` past the end.
    pub(super) fn read(&self, at: usize, n: usize) -> Option<Vec<u8>> {
        if at.checked_add(n)? > self.len {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for range in self.ranges(at, n) {
            out.extend_from_slice(&self.bytes[range]);
        }
        Some(out)
    }
}
