// qresync - imapflow (a real client) with QRESYNC: "open" opens the
// mailbox and prints its UIDVALIDITY, HIGHESTMODSEQ and messages;
// "resync" reopens it with (QRESYNC (uidvalidity modseq)), prints every
// VANISHED and FETCH it is told of during the SELECT, the messages after,
// then MOVEs the first message to TARGET and prints the UID map.
//
//   node qresync.js PORT USER PASSWORD MAILBOX open
//   node qresync.js PORT USER PASSWORD MAILBOX resync UIDVALIDITY MODSEQ TARGET
'use strict';
const { ImapFlow } = require('imapflow');

const [port, user, pass, mailbox, phase, uv, modseq, target] =
    process.argv.slice(2);
const client = new ImapFlow({
    host: '127.0.0.1',
    port: Number(port),
    secure: false,
    auth: { user, pass },
    logger: false,
    qresync: true,
    disableAutoIdle: true
});
const events = [];

client.on('expunge', d => events.push({ ev: 'vanished', uid: d.uid,
    earlier: Boolean(d.earlier) }));
client.on('flags', d => events.push({ ev: 'flags', uid: d.uid,
    flags: Array.from(d.flags).sort() }));

async function messages() {
    const out = [];
    for await (const m of client.fetch('1:*', { uid: true, flags: true }))
        out.push({ uid: m.uid, flags: Array.from(m.flags).sort() });
    return out;
}

async function main() {
    await client.connect();
    const res = { qresync: client.enabled.has('QRESYNC') };
    if (phase === 'open') {
        const box = await client.mailboxOpen(mailbox);
        res.uidValidity = String(box.uidValidity);
        res.highestModseq = String(box.highestModseq);
        res.messages = await messages();
    } else {
        const box = await client.mailboxOpen(mailbox,
            { uidValidity: BigInt(uv), changedSince: BigInt(modseq) });
        res.events = events.slice();
        res.highestModseq = String(box.highestModseq);
        res.messages = await messages();
        const moved = await client.messageMove('1', target);
        res.moved = moved && moved.uidMap ?
            Array.from(moved.uidMap.entries()) : null;
        res.after = await messages();
    }
    await client.logout();
    process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch(err => {
    process.stdout.write(JSON.stringify({ error: String(err && err.message ||
        err) }) + '\n');
    process.exit(1);
});
