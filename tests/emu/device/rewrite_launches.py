"""Rewrites a CUDA source for the device emulation (tests/emu/device), which compiles it as C++:

  name<<<grid, block[, smem[, stream]]>>>(args)  ->  bt_emu_launch_k(grid, block, smem, stream,
                                                                    "name", name, args)
  extern __shared__ T name[];                     ->  T *name = (T *)bt_emu_dyn_smem();
  __shared__ T name...;                           ->  __shared__ T bt_emu_sh_name...;
                                                      auto &name = *(decltype(bt_emu_sh_name) *)
                                                          bt_emu_shared_block(&bt_emu_sh_name,
                                                              sizeof .., alignof(..));

The last one gives each running block its own copy of a static __shared__ variable (blocks may run
on several host threads at once), fresh garbage the first time a thread of the block reaches the
declaration, so that a kernel reading it before writing sees garbage as on a device, not what an
earlier block or launch left there; the renamed static declaration (__shared__ is `static` in the
emulation) is only a prototype that gives the copy its type and a key. A static __shared__
declaration starts a line and declares one name (anything else is refused).

NULL in launch arguments becomes nullptr (arguments are converted to the kernel's parameter types
at launch time, where a null pointer constant must stay one). Everything else is left as it is.
Usage: rewrite_launches.py in.cu out.cpp (run by CMake at build time)."""
import re
import sys


def split_top(text):
    """Splits text at commas outside parentheses, brackets and braces."""
    parts, depth, cur = [], 0, ''
    for ch in text:
        if ch in '([{':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def rewrite(src):
    out, i = [], 0
    while True:
        j = src.find('<<<', i)
        if j < 0:
            out.append(src[i:])
            break
        k = j
        if src[k - 1] == '>':  # name<T, U><<<: walk back over the template argument list
            depth = 0
            while True:
                k -= 1
                if src[k] == '>':
                    depth += 1
                elif src[k] == '<':
                    depth -= 1
                    if depth == 0:
                        break
        while k > 0 and (src[k - 1].isalnum() or src[k - 1] in '_:'):
            k -= 1
        name = src[k:j]
        e = src.find('>>>', j)
        cfg = split_top(src[j + 3:e])
        if len(cfg) < 2 or len(cfg) > 4:
            raise SystemExit(f'{sys.argv[1]}: cannot parse launch of {name}')
        cfg += ['0', '0'][: 4 - len(cfg)]
        p = e + 3
        while src[p].isspace():
            p += 1
        if src[p] != '(':
            raise SystemExit(f'{sys.argv[1]}: no arguments after launch of {name}')
        depth, q = 0, p
        while True:
            if src[q] == '(':
                depth += 1
            elif src[q] == ')':
                depth -= 1
                if depth == 0:
                    break
            q += 1
        args = re.sub(r'\bNULL\b', 'nullptr', src[p + 1:q]).strip()
        out.append(src[i:k])
        label = re.sub(r'\s+', '', name)
        call = (f'bt_emu_launch_k(dim3({cfg[0]}), dim3({cfg[1]}), (size_t)({cfg[2]}), '
                f'(cudaStream_t)({cfg[3]}), "{label}", {name}' + (f', {args}' if args else '') +
                ')')
        # the same number of lines, so diagnostics and debuggers point at the original's lines
        call = call.replace('\n', ' ') + '\n' * src[k:q + 1].count('\n')
        out.append(call)
        i = q + 1
    text = ''.join(out)
    text = re.sub(r'extern\s+__shared__\s+([^;\[\]]+?)\s+(\w+)\s*\[\s*\]\s*;',
                  r'\1 *\2 = (\1 *)bt_emu_dyn_smem();', text)
    return poison_static_shared(text)


def poison_static_shared(text):
    """Renames each static __shared__ declaration's variable to bt_emu_sh_<name> and binds <name>
    to the running block's copy (bt_emu_shared_block), on the declaration's last line (line
    numbers stay the original's)."""
    out, i = [], 0
    for m in re.finditer(r'(?m)^[ \t]*__shared__\b', text):
        if m.start() < i:
            continue
        depth, q = 0, m.end()
        while q < len(text) and not (text[q] == ';' and depth == 0):
            if text[q] in '([{':
                depth += 1
            elif text[q] in ')]}':
                depth -= 1
            q += 1
        decl = text[m.end():q]
        tail_at = decl.rfind('}') + 1  # after a union's or struct's body
        tail = decl[tail_at:]
        while True:  # the declarator's array bounds
            t = re.sub(r'\[[^\[\]]*\]\s*$', '', tail.rstrip())
            if t == tail.rstrip():
                break
            tail = t
        name = re.search(r'(\w+)\s*$', tail)
        if q >= len(text) or '=' in tail or len(split_top(tail)) != 1 or not name:
            line = text.count('\n', 0, m.start()) + 1
            raise SystemExit(f'{sys.argv[1]}:{line}: cannot read the __shared__ declaration')
        n, at = name.group(1), m.end() + tail_at + name.start(1)
        proto = f'bt_emu_sh_{n}'
        out.append(text[i:at] + proto + text[at + len(n):q + 1])
        out.append(f' auto &{n} = *(decltype({proto}) *)bt_emu_shared_block(&{proto}, '
                   f'sizeof {proto}, alignof(decltype({proto})));')
        i = q + 1
    out.append(text[i:])
    return ''.join(out)


def main():
    src = open(sys.argv[1]).read()
    text = f'#line 1 "{sys.argv[1]}"\n' + rewrite(src)
    with open(sys.argv[2], 'w') as f:
        f.write(text)


if __name__ == '__main__':
    main()
