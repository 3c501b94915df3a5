import ast, re, sys, os
d = sys.argv[1]
out = bytearray()
names = []
for f in sorted(os.listdir(d)):
    if not f.endswith("_pb2.py") or f.startswith("example"): continue
    src = open(os.path.join(d, f)).read()
    m = re.search(r"AddSerializedFile\(\s*(b['\"].*?['\"])\s*\)\n", src, re.S)
    if not m:
        print("no descriptor in", f, file=sys.stderr); continue
    b = ast.literal_eval(m.group(1))
    names.append(f)
    # FileDescriptorSet.file = field 1, length-delimited
    out += b"\x0a"
    n = len(b)
    while True:
        x = n & 0x7f; n >>= 7
        if n: out.append(x | 0x80)
        else: out.append(x); break
    out += b
open(sys.argv[2], "wb").write(out)
print(names)
