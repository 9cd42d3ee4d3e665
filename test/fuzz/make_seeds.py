#!/usr/bin/env python3
"""Writes the hand-made seed inputs of test/fuzz/corpus/ (run from the repo:
python3 test/fuzz/make_seeds.py test/fuzz/corpus). The FDP class lays bytes
out the way FuzzedDataProvider reads them back (strings from the front,
integers from the back), so each seed means what its name says; keep it in
step with the order in which each *_fuzz.cpp consumes its input. Inputs that
once crashed a target (crash-*) are kept in the corpus as they were found."""
import os, sys
root = sys.argv[1]
def put(target, name, data):
    d = os.path.join(root, target); os.makedirs(d, exist_ok=True)
    if isinstance(data, str): data = data.encode()
    open(os.path.join(d, name), 'wb').write(data)

class FDP:
    """Builds an input for FuzzedDataProvider: strings from the front, integers from the back."""
    def __init__(self): self.front = b''; self.back = []
    def int(self, value, lo, hi):
        rng = hi - lo; v = value - lo; nbytes = 0
        while nbytes < 8 and (rng >> (8 * nbytes)) > 0: nbytes += 1
        for k in reversed(range(nbytes)): self.back.append((v >> (8 * k)) & 0xff)
    def bool(self, b): self.back.append(1 if b else 0)
    def pick(self, index, n): self.int(index, 0, n - 1)
    def string(self, s):
        if isinstance(s, str): s = s.encode()
        self.front += s.replace(b'\\', b'\\\\') + b'\\ '
    def rest(self, s):
        if isinstance(s, str): s = s.encode()
        self.front += s
    def bytes(self): return self.front + bytes(reversed(self.back))

# ---- line_codec: raw flag, big flag, max_line, chunk count, chunks, stream
def line(name, stream, raw=False, max_line=80, chunks=(), big=False):
    f = FDP(); f.bool(raw); f.bool(big)
    if not big: f.int(max_line, 0, 80)
    f.int(len(chunks), 0, 16)
    for c in chunks: f.int(c, 1, 64)
    f.rest(stream); put('line_codec_fuzz', name, f.bytes())
line('lf_crlf', 'one\ntwo\r\nthree\n', chunks=(1, 2, 3))
line('cr_at_chunk_end', 'abcd\r\nefgh\r\n', max_line=4, chunks=(5, 1, 5, 1))
line('chinese', '你好，世界\n中文聊天室里的一句话\r\n', chunks=(7, 3))
line('too_long', 'x' * 200 + '\nnever seen\n', max_line=64, chunks=(64, 64))
line('exactly_max', 'a' * 16 + '\r\n' + 'b' * 16 + '\n', max_line=16, chunks=(17, 1, 16))
line('cr_over_limit', 'a' * 16 + '\rx\n', max_line=16, chunks=(17,))
line('eof_unterminated', 'first\nlast line without newline', chunks=(6,))
line('eof_lone_cr', 'done\r', chunks=(5,))
line('empty_lines', '\n\n\r\n\n\r\r\n', chunks=(1, 1, 1))
line('nul_invalid_utf8', b'\x00\xff\xfe\n\x80abc\xc0\xaf\n\x00\n', chunks=(3,))
line('default_max', 'y' * 3000 + '\n', big=True, chunks=(64, 64, 64))
line('raw_http', 'GET / HTTP/1.0\r\n\r\n', raw=True, chunks=(5, 9))
line('raw_tutorial', 'hello', raw=True)
line('raw_chinese_chunks', '你好世界'.encode(), raw=True, chunks=(1, 2, 3))

# ---- address: the last byte picks the check ('0'..'5' -> 0..5)
for i, p in enumerate(['21567', '0', '65535', '65536', '00080', '-1', '+80', ' 80',
                       '99999999999999999999', 'daytime', 'http', 'domain', 'echo', 'nosuchservice']):
    put('address_fuzz', 'port_%02d' % i, p + '0')
def cli(name, port, args=(), udp=False, client=True):
    f = FDP(); f.int(1, 0, 5); f.bool(udp); f.bool(client); f.string(port)
    f.int(len(args), 0, 5)
    opts = ["-H", "--host", "-p", "--port", "--unix", "--", "localhost", "21567", "daytime", "-p0"]
    for a in args:
        if a in opts: f.bool(False); f.pick(opts.index(a), len(opts))
        else: f.bool(True); f.string(a)
    put('address_fuzz', name, f.bytes())
cli('cli_port', '8000', ['--host', '::1'])
cli('cli_service_udp', 'daytime', ['-H', 'example.org'], udp=True)
cli('cli_positionals', '80', ['example.org', '8000'])
cli('cli_unix', '1', ['--unix', '/tmp/netlab.sock'], client=False)
cli('cli_unix_too_long', '1', ['--unix', '/tmp/' + 'x' * 120], client=False)
cli('cli_bad_port', '70000', ['-p', '-1'])
def host(name, h, port=21567):
    f = FDP(); f.int(2, 0, 5); f.int(port, 0, 65535); f.rest(h); put('address_fuzz', name, f.bytes())
for i, h in enumerate(['127.0.0.1', '0.0.0.0', '::1', '::', '::ffff:10.1.2.3', 'fe80::1',
                       '2001:db8::8:800:200c:417a', 'LocalHost', '255.255.255.255', '1.2.3']):
    host('host_%02d' % i, h, port=[0, 1, 80, 21567, 65535][i % 5])
for i, u in enumerate(['/tmp/netlab.sock', 'relative.sock', 'x' * 107, 'x' * 108, '']):
    put('address_fuzz', 'unix_%02d' % i, u + '3')
put('address_fuzz', 'sockaddr', bytes(range(40)) + b'\x02\x10' + b'4')
def cidr(name, texts):
    f = FDP(); f.int(5, 0, 5); f.int(len(texts), 1, 4)
    for i, t in enumerate(texts): f.string(t); f.bool(i % 2 == 1)
    for r in range(4):
        f.bool(r % 2 == 0); f.bool(True)
        if r % 2 == 0: f.bool(r == 2)
        f.int([128, 0, 31, 127][r], 0, 128)
    put('address_fuzz', name, f.bytes())
cidr('cidr_v4', ['10.0.0.0/8', '192.168.1.0/24', '127.0.0.1'])
cidr('cidr_v6', ['::1/128', 'fe80::/10', '::/0', '2001:db8::/32'])
cidr('cidr_edges', ['0.0.0.0/0', '255.255.255.255/32', '1.2.3.4/31', '::ffff:10.0.0.0/104'])
cidr('cidr_malformed', ['10.0.0.0/', '10.0.0.0/33', '10.0.0.0/+8', '::1/129'])
cidr('cidr_minus_zero_and_nul', ['10.0.0.0/-0', '1.2.3.4\0/8', '::/-0'])
put('address_fuzz', 'port_nul', 'domain\0junk0')

# ---- chat_protocol: one line each
for name, l in [('login', 'alice'), ('login_room', 'alice lobby'), ('login_chinese', '张三 聊天室'),
                ('login_extra', 'bob games extra'), ('login_tabs', '\tbob\t games \r'),
                ('join', '/join games'), ('msg', '/msg bob hi there'), ('msg_empty', '/msg'),
                ('who', '/who'), ('rooms', '/rooms'), ('help', '/help'), ('quit', 'quit'),
                ('quit_blanks', '  quit \r'), ('unknown', '/nosuch x'), ('say', 'hello world\r'),
                ('say_chinese', '大家好，我是新来的'), ('bidi', '\u202eevil'), ('nbsp', 'a\u00a0b'),
                ('bom', '\ufeffalice'), ('name_32', '中' * 32), ('name_33', '中' * 33),
                ('name_33_ascii', 'a' * 33)]:
    put('chat_protocol_fuzz', name, l)
for name, b in [('overlong', b'\xc0\xaf'), ('surrogate', b'\xed\xa0\x80'),
                ('past_max', b'\xf4\x90\x80\x80'), ('truncated', b'\xe4\xb8'),
                ('control', b'al\x1bice'), ('del', b'bob\x7f')]:
    put('chat_protocol_fuzz', name, b)

# ---- chat_rooms: history limit, then steps (id, op, args)
LIMITS = [0, 1, 2, 3, 5, 100000]
NAMES = ["alice", "bob", "张三", "李四", "x", "Alice"]
ROOMS = ["lobby", "games", "聊天室", "r", "burst-0", "burst-150"]
def rooms(name, limit, steps):
    f = FDP(); f.pick(LIMITS.index(limit), len(LIMITS))
    for s in steps:
        op, mid = s[0], s[1]
        f.int(mid, 1, 8)
        if op == 'line': f.int(0, 0, 9); f.string(s[2])
        elif op == 'join': f.int(4, 0, 9); f.pick(NAMES.index(s[2]), 6); f.pick(ROOMS.index(s[3]), 6)
        elif op == 'move': f.int(5, 0, 9); f.pick(ROOMS.index(s[2]), 6)
        elif op == 'leave': f.int(6, 0, 9)
        elif op == 'record':  # size: one of the edges below, plus 0-2
            f.int(7, 0, 9); f.pick(ROOMS.index(s[2]), 6); f.pick(s[3], 6); f.int(s[4], 0, 2)
        elif op == 'burst': f.int(8, 0, 9); f.int(s[2], 1, 40); f.int(s[3], 0, 8)
    put('chat_rooms_fuzz', name, f.bytes())
rooms('conversation', 3, [('line', 1, 'alice lobby'), ('line', 2, 'bob'), ('line', 3, 'alice lobby'),
                          ('line', 3, 'carol lobby'), ('line', 1, 'hello'), ('line', 2, '/msg alice hi'),
                          ('line', 1, '/join games'), ('line', 2, '/who'), ('line', 3, '/rooms'),
                          ('line', 2, '/join games'), ('line', 1, 'quit')])
rooms('history', 2, [('join', 1, 'alice', 'lobby'), ('join', 2, 'bob', 'lobby'), ('line', 1, 'one'),
                     ('line', 2, 'two'), ('line', 1, 'three'), ('leave', 1), ('leave', 2),
                     ('join', 3, 'x', 'lobby'), ('line', 3, 'four')])
rooms('reuse_across_rooms', 5, [('join', 1, 'alice', 'lobby'), ('join', 2, 'alice', 'games'),
                                ('move', 2, 'lobby'), ('move', 1, 'games'), ('move', 2, 'lobby'),
                                ('join', 3, 'Alice', 'lobby'), ('leave', 1)])
rooms('chinese', 5, [('line', 1, '张三 聊天室'), ('line', 2, '李四 聊天室'), ('line', 1, '你好'),
                     ('line', 2, '/msg 张三 私聊'), ('line', 2, '/join 大厅'), ('line', 1, '/who')])
# record sizes: 0, 1, 64, 1 MiB/3, 1 MiB/2, 1 MiB (by index)
rooms('big_history', 100000, [('join', 1, 'alice', 'lobby'), ('record', 1, 'lobby', 4, 0),
                              ('record', 1, 'lobby', 4, 0), ('record', 1, 'lobby', 2, 1),
                              ('record', 1, 'lobby', 5, 1), ('record', 1, 'lobby', 3, 2),
                              ('leave', 1), ('join', 2, 'bob', 'lobby')])
rooms('idle_rooms', 3, [('burst', 1, 40, 4), ('burst', 1, 40, 4), ('join', 1, 'x', 'burst-0'),
                        ('burst', 1, 40, 1), ('burst', 1, 40, 1), ('join', 2, 'x', 'burst-150'),
                        ('move', 1, 'burst-150'), ('burst', 1, 40, 1), ('leave', 2)])

# ---- cmdserv: one path (also tried as `ls PATH` and as a request line)
for i, p in enumerate(['', '.', 'sub', 'sub/deeper', './sub/./deeper/', '中文目录', 'a.txt', '..',
                       '../outside', '../../etc', '/etc', '/', 'sub/../..', 'a/../../root',
                       'link_in', 'link_abs_in', 'link_dotdot_in', 'sub/link_up', 'sub/deeper/link_top',
                       'sub/deeper/link_escape', 'link_out', 'link_abs_out', 'link_evil',
                       'link_abs_evil', 'link_slash', 'link_slash/etc', 'link_dangling',
                       'link_loop', 'link_file', 'link_in/../..', 'link_out/../root',
                       'quote"back\\slash', 'ls sub', 'ls\t../outside', 'ls', 'date', 'os',
                       'help', 'hello 世界', '../root-evil', 'x' * 300 + '/..',
                       'link_phys/..', 'link_phys/../..', 'link_phys/../../..', 'link_abs_root/sub',
                       'link_abs_up', 'link_ping', 'link_chain/deeper/..', 'sub/deeper/link_top/link_phys/..']):
    put('cmdserv_fuzz', 'path_%02d' % i, p)
put('cmdserv_fuzz', 'nul', b'sub\x00../outside')
put('cmdserv_fuzz', 'invalid_utf8_name', b'\xff\xfe\x1b[31m')
