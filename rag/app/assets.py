"""The chat UI's stylesheet and the script that links citation markers to their source cards."""

CSS = """
.rag-banner { padding: 12px 16px; border-radius: 10px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); }
.rag-title { font-size: 1.35em; font-weight: 700; margin-bottom: 2px; }
.rag-mode { font-size: 0.98em; }
.rag-help { font-size: 0.85em; opacity: 0.8; margin-top: 2px; }
.rag-help code { font-size: 0.95em; }
.rag-notice { padding: 6px 10px; border-radius: 6px; margin-bottom: 6px; }
.rag-error { background: #fff4e5; color: #7a4100; border: 1px solid #ffd8a8; }
.rag-info { background: #e7f5ff; color: #1c4f7a; border: 1px solid #a5d8ff; }
.rag-meta { font-size: 0.85em; opacity: 0.75; margin-top: 4px; }
.cite-group { white-space: nowrap; font-size: 0.9em; }
a.cite { text-decoration: none; font-weight: 600; padding: 0 2px; border-radius: 4px; cursor: pointer;
  color: var(--color-accent) !important; }
a.cite:hover { background: var(--color-accent-soft); }
#sources-panel { overflow-y: auto; }
.sources-panel { display: flex; flex-direction: column; gap: 10px; }
.src-empty { opacity: 0.75; padding: 12px; font-size: 0.95em; }
.src-roles { display: grid; grid-template-columns: max-content 1fr; gap: 2px 8px; margin: 6px 0; font-size: 0.92em; }
.src-roles dt { font-weight: 600; opacity: 0.8; }
.src-roles dd { margin: 0; }
.src-compare { width: 100%; border-collapse: collapse; margin: 6px 0 10px; font-size: 0.9em; }
.src-compare th, .src-compare td { border: 1px solid rgba(128,128,128,0.35); padding: 4px 6px; vertical-align: top;
  text-align: left; }
.src-not-stated { padding: 6px 10px; margin: 4px 0 8px; border-left: 3px solid #d97706; font-size: 0.95em; }
.src-turn { display: none; }
.src-turn.active { display: flex; flex-direction: column; gap: 10px; }
.src-q { font-size: 0.85em; opacity: 0.75; }
.src-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px;
  overflow-wrap: anywhere;
  background: var(--background-fill-primary); transition: box-shadow .3s, border-color .3s; scroll-margin-top: 8px; }
.src-card.flash { border-color: var(--color-accent); box-shadow: 0 0 0 3px var(--color-accent-soft); }
.src-head { display: flex; gap: 6px; align-items: baseline; }
.src-head .marker { font-weight: 700; color: var(--color-accent); white-space: nowrap; }
.src-title { margin: 0 !important; font-size: 1.0em; font-weight: 650; }
.src-meta { font-size: 0.8em; opacity: 0.7; margin: 2px 0 6px; }
.src-abstract { font-size: 0.88em; line-height: 1.45; margin: 0 0 6px !important; }
.src-abstract mark { background: #fff3a3; color: inherit; padding: 0 1px; border-radius: 2px; }
.src-card.flash mark { background: #ffe066; }
.src-links { font-size: 0.82em; word-break: break-all; margin-bottom: 4px; }
.src-verdicts { font-size: 0.82em; margin: 0 !important; padding-left: 18px !important; }
.src-verdicts .check { opacity: 0.85; }
.verdict { padding: 0 6px; border-radius: 8px; font-size: 0.95em; white-space: nowrap; }
.v-supported { background: #d3f9d8; color: #1b5e20; }
.v-weak { background: #fff3bf; color: #7a5900; }
.v-unsupported { background: #ffe3e3; color: #a51111; }
.src-uncited summary { cursor: pointer; font-size: 0.9em; opacity: 0.85; }
.src-uncited .src-card { margin-top: 8px; }
.src-uncited .src-abstract { max-height: 7.5em; overflow-y: auto; }
#feedback-status { font-size: 0.85em; opacity: 0.8; }
.dark .src-abstract mark { background: #5c4d00; color: #fff8d6; }
.dark .rag-error { background: #3d2600; color: #ffd8a8; border-color: #7a4100; }
.dark .rag-info { background: #0b2a45; color: #a5d8ff; border-color: #1c4f7a; }
.dark .v-supported { background: #1b4d24; color: #d3f9d8; }
.dark .v-weak { background: #4d3d00; color: #fff3bf; }
.dark .v-unsupported { background: #5c1515; color: #ffe3e3; }
"""

# Runs once when the sources panel loads: clicking a marker in any answer shows that answer's sources and
# scrolls to (and flashes) the card of that marker.
CITE_JS = r"""
if (!window.__ragCiteHandler) {
  window.__ragCiteHandler = true;
  document.addEventListener('click', function (ev) {
    const link = ev.target && ev.target.closest ? ev.target.closest('a.cite') : null;
    if (!link) return;
    ev.preventDefault();
    ev.stopPropagation();
    // the chat's HTML sanitizer drops data-* attributes, so the target is read from href="#src-<turn>-<n>"
    const m = /#src-(\d+)-(\d+)$/.exec(link.getAttribute('href') || '');
    if (!m) return;
    const turn = m[1], n = m[2];
    let card = null;
    document.querySelectorAll('.sources-panel .src-turn').forEach(function (s) {
      const on = s.dataset.turn === turn;
      s.classList.toggle('active', on);
      if (on) card = s.querySelector('.src-card[data-markers~="' + n + '"]');
    });
    if (!card) return;
    document.querySelectorAll('.src-card.flash').forEach(function (c) { c.classList.remove('flash'); });
    card.classList.add('flash');
    // scroll the sources panel (not the page) to the card; bring the panel itself into view if needed
    let box = null;
    for (let p = card.parentElement; p; p = p.parentElement) {
      const oy = getComputedStyle(p).overflowY;
      if ((oy === 'auto' || oy === 'scroll') && p.scrollHeight > p.clientHeight) { box = p; break; }
    }
    const panel = document.getElementById('sources-panel');
    if (panel) {
      const r = panel.getBoundingClientRect();
      if (r.top < 0 || r.top > window.innerHeight - 80) panel.scrollIntoView({behavior: 'smooth', block: 'start'});
    }
    if (box) {
      const top = card.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop - 6;
      box.scrollTo({top: top, behavior: 'smooth'});
    }
    setTimeout(function () { card.classList.remove('flash'); }, 2500);
  }, true);
}
"""
