import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * Custom search attributes, so operators can ask the Temporal UI
 * "which trials of app X are gone quiet?" (TrialcastAppId = 'app_…' AND TrialcastSegment = 'gone_quiet').
 */
export const APP_ID_ATTRIBUTE = defineSearchAttributeKey('TrialcastAppId', 'KEYWORD');
export const SEGMENT_ATTRIBUTE = defineSearchAttributeKey('TrialcastSegment', 'KEYWORD');
export const SEARCH_ATTRIBUTE_KEYS = [APP_ID_ATTRIBUTE, SEGMENT_ATTRIBUTE];
