import { html, jsonBlock } from './html';

describe('html', () => {
  it('escapes interpolated text and keeps nested templates', () => {
    const name = '<script>alert("x")</script>';
    const nested = html`<b>${'&'}</b>`;
    const out = html`<p>${name}</p>
      ${nested}${[html`<i>1</i>`, '<2>']}`.value;
    expect(out.replace(/\s+/g, '')).toBe(
      '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p><b>&amp;</b><i>1</i>&lt;2&gt;',
    );
  });

  it('keeps JSON blocks from closing their script tag', () => {
    expect(jsonBlock('d', { a: '</script><b>' }).value).not.toContain('</script><b>');
  });
});
