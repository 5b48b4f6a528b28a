import { useEffect, useRef, useState } from 'react';

interface ConfirmButtonProps {
  /** What the first button says, e.g. "Delete". */
  label: string;
  /** The question asked before acting, e.g. "Delete 3 tasks?". */
  question: string;
  /** What the confirming button says. Default: the label. */
  confirmLabel?: string;
  disabled?: boolean;
  onConfirm(): void;
}

/**
 * A destructive action asked twice: the first click shows the question with a confirming button and a cancel, in
 * place, and moves focus to the confirming button (Escape cancels).
 */
export function ConfirmButton({ label, question, confirmLabel, disabled, onConfirm }: ConfirmButtonProps) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);

  if (!asking) {
    return (
      <button type="button" className="danger" disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question} onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}>
      <span>{question}</span>
      <button
        ref={confirmRef}
        type="button"
        className="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel ?? label}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
