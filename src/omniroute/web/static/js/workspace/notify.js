// Sound and desktop notifications for incoming offers, per the agent's settings:
// "never", "always", or "background" (only while the workspace is not the focused window).

let audio = null;

/**
 * Browsers only let a page make sound after the person interacted with it, so the audio context
 * is created (or resumed) on the first click or key press, ready for the first offer.
 */
export function unlockAudioOnGesture() {
  const unlock = () => {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) audio = new Context();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
  };
  window.addEventListener('pointerdown', unlock, { capture: true });
  window.addEventListener('keydown', unlock, { capture: true });
}

/** Two short rising tones: noticeable, not alarming, and no audio file to ship. */
export function beep() {
  if (!audio || audio.state !== 'running') return false;
  const start = audio.currentTime + 0.01;
  [[660, 0], [880, 0.16]].forEach(([frequency, offset]) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.14);
    osc.connect(gain).connect(audio.destination);
    osc.start(start + offset);
    osc.stop(start + offset + 0.15);
  });
  return true;
}

export function inBackground() {
  return document.visibilityState !== 'visible' || !document.hasFocus();
}

export function wanted(mode) {
  return mode === 'always' || (mode === 'background' && inBackground());
}

export function desktopSupported() {
  return 'Notification' in window;
}

export function desktopPermission() {
  return desktopSupported() ? Notification.permission : 'unsupported';
}

export async function askDesktopPermission() {
  if (!desktopSupported() || Notification.permission !== 'default') return desktopPermission();
  try {
    return await Notification.requestPermission();
  } catch {
    return desktopPermission();
  }
}

/** Show a desktop notification; clicking it brings the workspace forward and runs `onClick`. */
export function desktopNotify({ title, body, tag, onClick }) {
  if (desktopPermission() !== 'granted') return null;
  try {
    const note = new Notification(title, { body, tag, requireInteraction: true });
    note.addEventListener('click', () => {
      window.focus();
      note.close();
      if (onClick) onClick();
    });
    return note;
  } catch {
    return null; // some platforms only allow notifications from a service worker
  }
}
