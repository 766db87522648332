export function FolderIcon() {
  return (
    <svg className="folder-icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path d="M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2h8.5A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z" fill="currentColor" />
    </svg>
  );
}

export function FileIcon() {
  return (
    <svg className="file-icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path d="M6 3h8l4 4v14H6z M14 3v4h4" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
    </svg>
  );
}
