/** A LIKE/ILIKE pattern for "starts with this text": the text's own %, _ and \ match themselves. */
export const likePrefix = (text: string): string => `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
