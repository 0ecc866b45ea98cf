// idle_watch - a real IMAP client (the imapflow library) that logs in,
// opens a mailbox, waits in IDLE and prints every change it is told of as
// one JSON line on stdout.  The test driving it writes "stop" on stdin.
//
//   node idle_watch.js PORT USER PASSWORD MAILBOX
'use strict';
const { ImapFlow } = require('imapflow');
const readline = require('readline');

const [port, user, pass, mailbox] = process.argv.slice(2);
const client = new ImapFlow({
    host: '127.0.0.1',
    port: Number(port),
    secure: false,
    auth: { user, pass },
    logger: false,
    disableAutoIdle: true,
    tls: { rejectUnauthorized: false }
});

function out(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

client.on('exists', d => out({ ev: 'exists', count: d.count, prev: d.prevCount }));
client.on('expunge', d => out({ ev: 'expunge', seq: d.seq }));
client.on('flags', d => out({
    ev: 'flags', seq: d.seq, uid: d.uid,
    modseq: d.modseq ? String(d.modseq) : null,
    flags: Array.from(d.flags).sort()
}));

async function main() {
    await client.connect();
    const box = await client.mailboxOpen(mailbox);
    out({
        ev: 'open', exists: box.exists,
        condstore: client.enabled.has('CONDSTORE') ||
            Boolean(box.highestModseq),
        highestModseq: box.highestModseq ? String(box.highestModseq) : null
    });
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', async line => {
        if (line.trim() === 'stop') {
            // ends the IDLE (DONE), then a command and LOGOUT
            const st = await client.status(mailbox, { messages: true });
            out({ ev: 'status', messages: st.messages });
            await client.logout();
            out({ ev: 'bye' });
            process.exit(0);
        }
    });
    out({ ev: 'idling' });
    await client.idle();
}

main().catch(err => {
    out({ ev: 'error', message: String(err && err.message || err) });
    process.exit(1);
});
