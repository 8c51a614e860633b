/**
 * A small loopback relay made of the daemon's Room class (src/daemon/room/room.ts), for the
 * client's room tests until videochatd routes `vcroom1-` codes itself: two ports (video,
 * audio), the relay handshake (int32 LE length + code) read, one Room per code and port.
 * Codes without the room prefix are paired one to one, bytes passed through, as the
 * original server does (`rooms: false` pairs every code that way: a relay without rooms).
 */
import net from 'node:net';
import { once } from 'node:events';
import { Room } from '../../src/daemon/room/room.js';
import { ROOM_CODE_PREFIX } from '../../src/codec/room/index.js';

export interface RoomRelay {
  videoPort: number;
  audioPort: number;
  /** Every byte clients sent to the relay, per port (a tap on the relay). */
  tapped: Buffer[];
  stop(): Promise<void>;
}

export async function startRoomRelay(opts: { rooms?: boolean; maxMembers?: number } = {}): Promise<RoomRelay> {
  const rooms = opts.rooms !== false;
  const servers: net.Server[] = [];
  const allRooms: Room[] = [];
  const sockets = new Set<net.Socket>();
  const tapped: Buffer[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 2; i++) {
    const byCode = new Map<string, Room>();
    const waiting = new Map<string, net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        tapped.push(Buffer.from(d));
        buf = Buffer.concat([buf, d]);
        if (buf.length < 4) return;
        const len = buf.readInt32LE(0);
        if (len < 0 || len > 256) return void s.destroy();
        if (buf.length < 4 + len) return;
        s.off('data', onData);
        const code = buf.subarray(4, 4 + len).toString('utf8');
        const rest = buf.subarray(4 + len);
        s.on('data', (x: Buffer) => tapped.push(Buffer.from(x)));
        if (rooms && code.startsWith(ROOM_CODE_PREFIX)) {
          let room = byCode.get(code);
          if (!room) {
            room = new Room({ maxMembers: opts.maxMembers ?? 8, helloTimeoutMs: 10_000 });
            allRooms.push(room);
            byCode.set(code, room);
            room.on('empty', () => {
              if (byCode.get(code) === room) byCode.delete(code);
            });
          }
          s.pause();
          room.admit(s, rest);
          s.resume();
          return;
        }
        const other = waiting.get(code);
        if (!other || other.destroyed) {
          waiting.set(code, s);
          s.pause();
          if (rest.length) s.unshift(rest);
          s.on('close', () => { if (waiting.get(code) === s) waiting.delete(code); });
          return;
        }
        waiting.delete(code);
        if (rest.length) other.write(rest);
        s.pipe(other);
        other.pipe(s);
        other.resume();
        s.on('close', () => other.destroy());
        other.on('close', () => s.destroy());
      };
      s.on('data', onData);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    ports.push((server.address() as net.AddressInfo).port);
  }
  return {
    videoPort: ports[0]!, audioPort: ports[1]!, tapped,
    stop: async () => {
      for (const r of allRooms) r.close();
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((sv) => new Promise<void>((r) => sv.close(() => r()))));
    },
  };
}
