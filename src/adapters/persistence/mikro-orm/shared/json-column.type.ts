import { JsonType, type Platform, type TransformContext } from '@mikro-orm/core';

/**
 * A JSON column that reads back the same on SQLite, MySQL 8 and MariaDB. MariaDB's JSON is LONGTEXT,
 * so whether the driver parses it depends on the server's metadata; openMysql therefore asks mysql2
 * for JSON as text everywhere and this type parses it. Holds objects and arrays only (a JSON string
 * value would be ambiguous with its text form).
 */
export class JsonColumnType extends JsonType {
  override convertToJSValue(value: unknown, platform: Platform, context?: TransformContext): unknown {
    if (typeof value === 'string') return JSON.parse(value) as unknown;
    return super.convertToJSValue(value as never, platform, context);
  }
}
