/*
 * kql_dump.c - prints a KQL syntax tree as a compact S-expression.
 *
 * The form is what the golden tests compare, so it is stable and one line:
 * (pipe (table T) (where (== FileName "x"))). Names print bare (bracketed
 * when they are not plain identifiers), strings as JSON strings, operators by
 * their spelling, and every other node as (kind [name] [text] children...).
 * With VG_KQL_DUMP_POS each node's kind is followed by @line:col.
 */
#include <ctype.h>
#include <inttypes.h>

#include "kql/kql_int.h"

static const char *const kind_names[] = {
#define VG_KQL_KIND_NAME_(name, text) text,
    VG_KQL_KINDS(VG_KQL_KIND_NAME_)
#undef VG_KQL_KIND_NAME_
};

const char *vg_kql_kind_name(vg_kql_kind k)
{
    return (unsigned)k < VG_KQL_KIND_COUNT_ ? kind_names[k] : "?";
}

static void put_name(vg_buf *b, vg_str s)
{
    bool plain = s.n > 0;
    for (size_t k = 0; k < s.n; k++) {
        char c = s.p[k];
        if (!(isalnum((unsigned char)c) || c == '_' || c == '$' || c == '*' || c == '.' ||
              (c == '~' && k + 1 == s.n)))
            plain = false;
    }
    if (plain) {
        vg_buf_putstr(b, s);
    } else {
        vg_buf_puts(b, "[");
        vg_buf_put_json_str(b, s);
        vg_buf_puts(b, "]");
    }
}

static void dump(vg_buf *b, const vg_kql_node *n, unsigned flags, unsigned depth);

static void open(vg_buf *b, const vg_kql_node *n, const char *head, unsigned flags)
{
    vg_buf_putc(b, '(');
    vg_buf_puts(b, head);
    if (flags & VG_KQL_DUMP_POS) vg_buf_printf(b, "@%u:%u", n->pos.line, n->pos.col);
}

static void kids(vg_buf *b, const vg_kql_node *n, uint32_t from, unsigned flags, unsigned depth)
{
    for (uint32_t k = from; k < n->n; k++) {
        vg_buf_putc(b, ' ');
        dump(b, n->kids[k], flags, depth + 1);
    }
}

static void atom_pos(vg_buf *b, const vg_kql_node *n, unsigned flags)
{
    if (flags & VG_KQL_DUMP_POS) vg_buf_printf(b, "@%u:%u", n->pos.line, n->pos.col);
}

static void dump(vg_buf *b, const vg_kql_node *n, unsigned flags, unsigned depth)
{
    if (!n) { vg_buf_puts(b, "nil"); return; }
    if (depth > VG_KQL_MAX_HEIGHT) { vg_buf_puts(b, "..."); return; }   /* trees from vg_kql_parse never get here */
    switch (n->kind) {
    case VG_KQL_NAME:
        put_name(b, n->name);
        atom_pos(b, n, flags);
        return;
    case VG_KQL_STAR:
        vg_buf_putc(b, '*');
        atom_pos(b, n, flags);
        return;
    case VG_KQL_STRING:
        vg_buf_put_json_str(b, n->name);
        atom_pos(b, n, flags);
        return;
    case VG_KQL_LONG:
        vg_buf_printf(b, "%" PRId64, n->i);
        atom_pos(b, n, flags);
        return;
    case VG_KQL_BOOL:
        vg_buf_puts(b, n->i ? "true" : "false");
        atom_pos(b, n, flags);
        return;
    case VG_KQL_REAL:
        open(b, n, "real", flags);
        vg_buf_printf(b, " %.17g)", n->r);
        return;
    case VG_KQL_INT:
        open(b, n, "int", flags);
        vg_buf_printf(b, " %" PRId64 ")", n->i);
        return;
    case VG_KQL_TIMESPAN:
        open(b, n, "timespan", flags);
        if (n->text.n) { vg_buf_putc(b, ' '); vg_buf_put_json_str(b, n->text); }
        vg_buf_printf(b, " %" PRId64 ")", n->i);
        return;
    case VG_KQL_DATETIME: case VG_KQL_GUID: case VG_KQL_TYPED_NULL:
        open(b, n, kind_names[n->kind], flags);
        vg_buf_putc(b, ' ');
        if (n->kind == VG_KQL_TYPED_NULL) vg_buf_putstr(b, n->text);
        else vg_buf_put_json_str(b, n->text);
        vg_buf_putc(b, ')');
        return;
    case VG_KQL_BINARY: case VG_KQL_UNARY: case VG_KQL_BETWEEN: case VG_KQL_IN: {
        const char *op = n->kind == VG_KQL_BETWEEN ? (n->op == VG_KQL_T_NBETWEEN ? "!between" : "between")
                                                   : vg_kql_tok_op((vg_kql_tok)n->op);
        open(b, n, op ? op : "?", flags);
        kids(b, n, 0, flags, depth);
        vg_buf_putc(b, ')');
        return;
    }
    case VG_KQL_CALL: case VG_KQL_NAMED_ARG: case VG_KQL_MEMBER: case VG_KQL_OPTION: case VG_KQL_PAIR:
    case VG_KQL_LET: case VG_KQL_LET_FUNC: case VG_KQL_SET: case VG_KQL_AS: case VG_KQL_RENDER:
    case VG_KQL_TABLE: case VG_KQL_RANGE:
        open(b, n, n->kind == VG_KQL_MEMBER ? "." : kind_names[n->kind], flags);
        if (n->kind == VG_KQL_MEMBER) { kids(b, n, 0, flags, depth); vg_buf_putc(b, ' '); put_name(b, n->name); }
        else {
            vg_buf_putc(b, ' ');
            if (n->kind == VG_KQL_PAIR) vg_buf_put_json_str(b, n->name);
            else put_name(b, n->name);
            kids(b, n, 0, flags, depth);
        }
        vg_buf_putc(b, ')');
        return;
    case VG_KQL_INDEX:
        open(b, n, "[]", flags);
        kids(b, n, 0, flags, depth);
        vg_buf_putc(b, ')');
        return;
    case VG_KQL_PARAM:
        open(b, n, "param", flags);
        vg_buf_putc(b, ' ');
        put_name(b, n->name);
        if (n->text.n) { vg_buf_putc(b, ':'); vg_buf_putstr(b, n->text); }
        kids(b, n, 0, flags, depth);
        vg_buf_putc(b, ')');
        return;
    case VG_KQL_MV_ITEM:
        if (!n->text.n) { dump(b, n->kids[0], flags, depth + 1); return; }
        open(b, n, "to", flags);
        kids(b, n, 0, flags, depth);
        vg_buf_putc(b, ' ');
        vg_buf_putstr(b, n->text);
        vg_buf_putc(b, ')');
        return;
    case VG_KQL_SORT_KEY:
        open(b, n, "key", flags);
        kids(b, n, 0, flags, depth);
        if (n->op & VG_KQL_SORT_ASC) vg_buf_puts(b, " asc");
        if (n->op & VG_KQL_SORT_DESC) vg_buf_puts(b, " desc");
        if (n->op & VG_KQL_SORT_NULLS_FIRST) vg_buf_puts(b, " nulls-first");
        if (n->op & VG_KQL_SORT_NULLS_LAST) vg_buf_puts(b, " nulls-last");
        vg_buf_putc(b, ')');
        return;
    case VG_KQL_LIST:
        if (n->n == 0) { vg_buf_puts(b, "()"); return; }
        open(b, n, "list", flags);
        kids(b, n, 0, flags, depth);
        vg_buf_putc(b, ')');
        return;
    default:
        open(b, n, kind_names[n->kind], flags);
        if (n->name.n) { vg_buf_putc(b, ' '); put_name(b, n->name); }
        kids(b, n, 0, flags, depth);
        vg_buf_putc(b, ')');
        return;
    }
}

void vg_kql_ast_dump(vg_buf *b, const vg_kql_node *n, unsigned flags)
{
    dump(b, n, flags, 0);
}
