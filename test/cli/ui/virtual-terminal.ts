/**
 * TEST-ONLY: a tiny terminal screen that understands what our TUI writes (CUP, ED 2, EL,
 * SGR colours, DECSC/DECRC, private modes ignored), so that tests can assert what a person
 * would see: which characters and background colours are where.
 */
export interface Cell {
  ch: string;
  /** Background as "r,g,b" for truecolor, "" for the default. */
  bg: string;
}

export class VirtualTerminal {
  cells: Cell[][] = [];
  row = 0;
  col = 0;
  private bg = '';
  private saved = { row: 0, col: 0, bg: '' };
  writes = 0;

  constructor(
    public columns: number,
    public rows: number,
  ) {
    this.clear();
  }

  /** Stream-like write, so it can stand in for stdout. */
  write = (data: string | Uint8Array): boolean => {
    this.writes++;
    this.feed(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
    return true;
  };

  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    const old = this.cells;
    this.clear();
    for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) if (old[r]?.[c]) this.cells[r][c] = old[r][c];
  }

  text(row: number): string {
    return this.cells[row].map((c) => c.ch).join('');
  }

  bgAt(row: number, col: number): string {
    return this.cells[row][col].bg;
  }

  private clear(): void {
    this.cells = Array.from({ length: this.rows }, () => Array.from({ length: this.columns }, () => ({ ch: ' ', bg: '' })));
  }

  private feed(s: string): void {
    let i = 0;
    while (i < s.length) {
      const ch = s[i];
      if (ch === '\x1b') {
        const next = s[i + 1];
        if (next === '7') {
          this.saved = { row: this.row, col: this.col, bg: this.bg };
          i += 2;
          continue;
        }
        if (next === '8') {
          ({ row: this.row, col: this.col, bg: this.bg } = this.saved);
          i += 2;
          continue;
        }
        if (next === '_') {
          // APC (kitty graphics): skip to ST.
          const end = s.indexOf('\x1b\\', i);
          i = end < 0 ? s.length : end + 2;
          continue;
        }
        if (next === '[') {
          let j = i + 2;
          while (j < s.length && !/[@-~]/.test(s[j])) j++;
          this.csi(s.slice(i + 2, j), s[j]);
          i = j + 1;
          continue;
        }
        i += 2;
        continue;
      }
      if (ch === '\n') {
        this.row = Math.min(this.rows - 1, this.row + 1);
        i++;
        continue;
      }
      if (ch === '\r') {
        this.col = 0;
        i++;
        continue;
      }
      const cp = s.codePointAt(i)!;
      const glyph = String.fromCodePoint(cp);
      if (this.col < this.columns && this.row < this.rows) this.cells[this.row][this.col] = { ch: glyph, bg: this.bg };
      this.col = Math.min(this.columns, this.col + 1);
      i += glyph.length;
    }
  }

  private csi(params: string, final: string): void {
    if (params.startsWith('?')) return;
    const nums = params.split(';').map((p) => (p === '' ? NaN : Number(p)));
    switch (final) {
      case 'H':
        this.row = Math.min(this.rows - 1, (nums[0] || 1) - 1);
        this.col = Math.min(this.columns - 1, (nums[1] || 1) - 1);
        return;
      case 'J':
        if (nums[0] === 2) this.clear();
        return;
      case 'K':
        for (let c = this.col; c < this.columns; c++) this.cells[this.row][c] = { ch: ' ', bg: this.bg };
        return;
      case 'm':
        this.sgr(nums);
        return;
    }
  }

  private sgr(nums: number[]): void {
    for (let k = 0; k < nums.length; k++) {
      const n = Number.isNaN(nums[k]) ? 0 : nums[k];
      if (n === 0 || n === 49) this.bg = '';
      else if (n === 48 && nums[k + 1] === 2) {
        this.bg = `${nums[k + 2]},${nums[k + 3]},${nums[k + 4]}`;
        k += 4;
      } else if ((n === 38 || n === 48) && nums[k + 1] === 5) {
        if (n === 48) this.bg = `256:${nums[k + 2]}`;
        k += 2;
      } else if (n === 38 && nums[k + 1] === 2) k += 4;
    }
  }
}
