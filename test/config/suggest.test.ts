import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest } from '../../src/config/suggest.ts';

const keys = ['host', 'port', 'protocols', 'max_message_size', 'expiration_timeout', 'timeout', 'queue_size'];

describe('closest', () => {
  it('finds typos, transpositions, other spellings and prefixes', () => {
    assert.equal(closest('prot', keys), 'port');
    assert.equal(closest('protocol', keys), 'protocols');
    assert.equal(closest('hsot', keys), 'host');
    assert.equal(closest('maxMessageSize', keys), 'max_message_size');
    assert.equal(closest('max-message-size', keys), 'max_message_size');
    assert.equal(closest('max_message', keys), 'max_message_size');
    assert.equal(closest('expiration_timout', keys), 'expiration_timeout');
    assert.equal(closest('Queue_Size', keys), 'queue_size');
  });

  it('suggests nothing when nothing is close', () => {
    assert.equal(closest('paths', keys), undefined);
    assert.equal(closest('kafka', ['elasticsearch', 'file', 'console']), undefined);
    assert.equal(closest('xy', keys), undefined);
  });
});
