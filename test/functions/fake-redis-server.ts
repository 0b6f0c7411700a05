/**
 * A Redis stand-in on 127.0.0.1 (plain TCP) speaking enough of RESP2 and RESP3 (Redis docs "Redis serialization
 * protocol specification") for the clients under test: HELLO, AUTH, SELECT, CLIENT, PING, GET, SET, HGETALL, HSET,
 * HLEN, LLEN, RPUSH, EXISTS, QUIT. With a password set, everything but HELLO/AUTH answers NOAUTH until the client
 * authenticates, as Redis with `requirepass` does. Every command is recorded with the database it ran in.
 */
import * as net from 'node:net';

type Value = string | string[] | Map<string, string>;

export interface RecordedRedisCommand {
  readonly db: number;
  readonly args: string[];
}

export interface FakeRedis {
  readonly host: string;
  readonly port: number;
  readonly commands: RecordedRedisCommand[];
  /** Database contents; tests write them directly. */
  db(index: number): Map<string, Value>;
  /** Called with each command before it runs, e.g. to change data between two reads. */
  beforeCommand: ((command: RecordedRedisCommand) => void) | undefined;
  /** Commands of one name (upper case), e.g. `commandsNamed('LLEN')`. */
  commandsNamed(name: string): RecordedRedisCommand[];
  close(): Promise<void>;
}

/** Parses one RESP array of bulk strings (what clients send) from `buffer`; undefined until it is complete. */
function parseCommand(buffer: Buffer): { args: string[]; rest: Buffer } | undefined {
  if (buffer.length === 0) return undefined;
  if (buffer[0] !== 0x2a /* '*' */) {
    // Inline command (telnet style): one line, words separated by spaces.
    const end = buffer.indexOf('\r\n');
    if (end < 0) return undefined;
    return { args: buffer.subarray(0, end).toString().split(' ').filter(Boolean), rest: buffer.subarray(end + 2) };
  }
  let offset = 0;
  const readLine = (): string | undefined => {
    const end = buffer.indexOf('\r\n', offset);
    if (end < 0) return undefined;
    const line = buffer.subarray(offset, end).toString();
    offset = end + 2;
    return line;
  };
  const header = readLine();
  if (header === undefined) return undefined;
  const count = Number(header.slice(1));
  const args: string[] = [];
  for (let index = 0; index < count; index++) {
    const lengthLine = readLine();
    if (lengthLine === undefined) return undefined;
    const length = Number(lengthLine.slice(1));
    if (buffer.length < offset + length + 2) return undefined;
    args.push(buffer.subarray(offset, offset + length).toString());
    offset += length + 2;
  }
  return { args, rest: buffer.subarray(offset) };
}

const bulk = (value: string | null): string =>
  value === null ? '$-1\r\n' : `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
const integer = (value: number): string => `:${value}\r\n`;
const simple = (value: string): string => `+${value}\r\n`;
const error = (value: string): string => `-${value}\r\n`;
const WRONGTYPE = error('WRONGTYPE Operation against a key holding the wrong kind of value');

export function startFakeRedis(options: { password?: string; databases?: number } = {}): Promise<FakeRedis> {
  const databases = Array.from({ length: options.databases ?? 16 }, () => new Map<string, Value>());
  const commands: RecordedRedisCommand[] = [];
  const sockets = new Set<net.Socket>();
  const hooks = { beforeCommand: undefined as FakeRedis['beforeCommand'] };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    let db = 0;
    let authenticated = options.password === undefined;
    let resp = 2;
    const map = (entries: Array<[string, string]>): string =>
      resp === 3
        ? `%${entries.length}\r\n${entries.map(([key, value]) => bulk(key) + bulk(value)).join('')}`
        : `*${entries.length * 2}\r\n${entries.map(([key, value]) => bulk(key) + bulk(value)).join('')}`;
    const checkPassword = (username: string, password: string): boolean =>
      username === 'default' && password === options.password;

    const execute = (args: string[]): string => {
      const name = (args[0] ?? '').toUpperCase();
      hooks.beforeCommand?.({ db, args });
      commands.push({ db, args });
      const data = databases[db];
      if (name === 'HELLO') {
        const version = args[1] === undefined ? resp : Number(args[1]);
        if (version !== 2 && version !== 3) return error('NOPROTO unsupported protocol version');
        for (let index = 2; index < args.length; index++) {
          if (args[index].toUpperCase() === 'AUTH') {
            if (!checkPassword(args[index + 1], args[index + 2])) {
              return error('WRONGPASS invalid username-password pair or user is disabled.');
            }
            authenticated = true;
            index += 2;
          } else if (args[index].toUpperCase() === 'SETNAME') index += 1;
        }
        if (!authenticated) return error('NOAUTH HELLO must be called with the client already authenticated');
        resp = version;
        return map([
          ['server', 'valkey'],
          ['version', '8.0.1'],
          ['proto', String(version)],
          ['mode', 'standalone'],
          ['role', 'master'],
        ]);
      }
      if (name === 'AUTH') {
        const [username, password] = args.length === 2 ? ['default', args[1]] : [args[1], args[2]];
        if (options.password === undefined) return error('ERR AUTH <password> called without any password configured');
        if (!checkPassword(username, password)) return error('WRONGPASS invalid username-password pair');
        authenticated = true;
        return simple('OK');
      }
      if (name === 'QUIT') return simple('OK');
      if (!authenticated) return error('NOAUTH Authentication required.');
      switch (name) {
        case 'PING':
          return simple('PONG');
        case 'CLIENT':
          return simple('OK');
        case 'SELECT': {
          const index = Number(args[1]);
          if (!Number.isInteger(index) || index < 0 || index >= databases.length)
            return error('ERR DB index is out of range');
          db = index;
          return simple('OK');
        }
        case 'GET': {
          const value = data.get(args[1]);
          if (value === undefined) return bulk(null);
          return typeof value === 'string' ? bulk(value) : WRONGTYPE;
        }
        case 'SET':
          data.set(args[1], args[2]);
          return simple('OK');
        case 'EXISTS':
          return integer(args.slice(1).filter((key) => data.has(key)).length);
        case 'LLEN': {
          const value = data.get(args[1]);
          if (value === undefined) return integer(0);
          return Array.isArray(value) ? integer(value.length) : WRONGTYPE;
        }
        case 'RPUSH': {
          const value = data.get(args[1]) ?? [];
          if (!Array.isArray(value)) return WRONGTYPE;
          value.push(...args.slice(2));
          data.set(args[1], value);
          return integer(value.length);
        }
        case 'HGETALL': {
          const value = data.get(args[1]);
          if (value === undefined) return map([]);
          return value instanceof Map ? map([...value.entries()]) : WRONGTYPE;
        }
        case 'HLEN': {
          const value = data.get(args[1]);
          if (value === undefined) return integer(0);
          return value instanceof Map ? integer(value.size) : WRONGTYPE;
        }
        case 'HSET': {
          const value = data.get(args[1]) ?? new Map<string, string>();
          if (!(value instanceof Map)) return WRONGTYPE;
          let added = 0;
          for (let index = 2; index + 1 < args.length; index += 2) {
            if (!value.has(args[index])) added++;
            value.set(args[index], args[index + 1]);
          }
          data.set(args[1], value);
          return integer(added);
        }
        default:
          return error(`ERR unknown command '${args[0]}'`);
      }
    };

    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      let parsed = parseCommand(pending);
      while (parsed !== undefined) {
        pending = parsed.rest;
        const isQuit = (parsed.args[0] ?? '').toUpperCase() === 'QUIT';
        socket.write(execute(parsed.args));
        if (isQuit) {
          socket.end();
          return;
        }
        parsed = parseCommand(pending);
      }
    });
    socket.on('error', () => socket.destroy());
  });

  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        host: '127.0.0.1',
        port,
        commands,
        get beforeCommand() {
          return hooks.beforeCommand;
        },
        set beforeCommand(hook) {
          hooks.beforeCommand = hook;
        },
        db: (index) => databases[index],
        commandsNamed: (name) => commands.filter((command) => (command.args[0] ?? '').toUpperCase() === name),
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
